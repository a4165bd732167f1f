import ClasCLI

Tools.main()

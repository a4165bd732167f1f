// ClasCLI

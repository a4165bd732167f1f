import ClasCLI
print("tools")

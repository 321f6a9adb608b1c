import InstallerLedger
print("x")

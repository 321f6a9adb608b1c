import ESETConnectSandbox
print("sandbox")

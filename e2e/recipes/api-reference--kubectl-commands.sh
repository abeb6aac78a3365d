# List all LocustTests
kubectl get locusttests
kubectl get lotest  # short name

# Describe a LocustTest
kubectl describe locusttest <name>

# Watch status changes
kubectl get locusttest <name> -w

# Delete a LocustTest
kubectl delete locusttest <name>

# Quick status overview
kubectl get locusttest my-test

# Detailed status with conditions
kubectl get locusttest my-test -o jsonpath='{.status}' | jq .

# Watch phase changes in real-time
kubectl get locusttest my-test -w

# Check specific condition
kubectl get locusttest my-test -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'

# Check worker connection progress
kubectl get locusttest my-test -o jsonpath='{.status.connectedWorkers}/{.status.expectedWorkers}'

#!/bin/bash
set -e

# Apply test
kubectl apply -f locusttest.yaml

# Wait for completion (either Succeeded or Failed)
echo "Waiting for test to complete..."
while true; do
  PHASE=$(kubectl get locusttest my-test -o jsonpath='{.status.phase}' 2>/dev/null)
  case "$PHASE" in
    Succeeded)
      echo "Test passed!"
      exit 0
      ;;
    Failed)
      echo "Test failed!"
      kubectl describe locusttest my-test
      exit 1
      ;;
    *)
      echo "Phase: $PHASE - waiting..."
      sleep 10
      ;;
  esac
done

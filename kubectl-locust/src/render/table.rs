//! The list of tests (`kubectl locust status`), as kubectl get prints it.

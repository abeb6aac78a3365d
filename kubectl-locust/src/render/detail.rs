//! The detailed view of one test (`kubectl locust status NAME`).

"""The quickstart's and the e2e suite's load test: fetch the test's own master web UI.

It needs nothing but the cluster: every request goes to http://<test>-master:8089/, which the
master pod serves, so the test passes anywhere the operator can start Locust.
"""

from locust import HttpUser, constant, task


class Visitor(HttpUser):
    wait_time = constant(0.5)

    @task
    def index(self):
        self.client.get("/")

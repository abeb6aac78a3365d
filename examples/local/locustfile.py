"""The demo load test: browse the shop's items (examples/local/target.py)."""

import random

from locust import HttpUser, between, task


class Shopper(HttpUser):
    wait_time = between(0.1, 0.5)

    @task(3)
    def list_items(self):
        self.client.get("/items")

    @task(2)
    def view_item(self):
        item = random.randint(1, 20)
        self.client.get(f"/items/{item}", name="/items/[id]")

    @task(1)
    def home(self):
        self.client.get("/")

"""``lab tui``: the lab on one screen (queues, messages in flight, delivery anomalies, workers,
the load balancer, the event log), live from the event stream or replayed from a recording."""

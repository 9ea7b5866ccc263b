"""Exercise 8: put them back in order. The checker's consumer calls ``receive`` with each event
as it comes off the queue (``{"account": ..., "seq": N, "amount": ...}``, seq from 0), in
whatever order SQS delivers them, and ``apply`` must see them in seq order, each once.
"""


class Orderer:
    def __init__(self, apply) -> None:
        self.apply = apply  # call self.apply(event) for event 0, then 1, then 2, ...

    def receive(self, event: dict) -> None:
        # TODO: a standard queue does not keep order: hold an event until every event before
        # it has been applied.
        self.apply(event)

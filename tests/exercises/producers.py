"""Exercise 5's producers as the tests write them into the student's file: the right one and
two plausible wrong ones (the URL alone as the body; an id that is not the job's), each
appended to the template's imports and clients, with a status function that looks the job up
in the bucket. The embedded lab's tests and LocalStack's use the same ones."""

from __future__ import annotations

from lab.exercises.catalog import exercise

TEMPLATE = exercise(5).folder / "producer.template.py"
HEAD = TEMPLATE.read_text().split("\n\ndef submit(")[0]  # imports, clients, png_url

STATUS = """

def status(job_id: str) -> str:
    try:
        s3.head_object(Bucket=BUCKET, Key=f"{job_id}.png")
    except Exception:
        return "pending"
    return f"done: {png_url(job_id)}"
"""
RIGHT = """

def submit(url: str) -> str:
    job_id = str(uuid.uuid4())
    sqs.send_message(QueueUrl=QUEUE_URL, MessageBody=json.dumps({"id": job_id, "url": url}))
    return job_id
"""
PLAIN_BODY = """

def submit(url: str) -> str:
    job_id = str(uuid.uuid4())
    sqs.send_message(QueueUrl=QUEUE_URL, MessageBody=url)
    return job_id
"""
OTHER_ID = """

def submit(url: str) -> str:
    sqs.send_message(
        QueueUrl=QUEUE_URL, MessageBody=json.dumps({"id": str(uuid.uuid4()), "url": url})
    )
    return str(uuid.uuid4())
"""

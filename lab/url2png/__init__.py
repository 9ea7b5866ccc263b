"""URL2PNG, the chapter's asynchronous example (section 15.2): a producer queues URLs, workers
(``lab.worker``) render them to PNGs in a website bucket. State lives in the cloud only (SQS
and S3 objects), so every part runs against the emulator, LocalStack or AWS."""

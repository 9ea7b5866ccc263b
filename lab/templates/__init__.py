"""CloudFormation templates of the chapter, written for this lab (they deploy on AWS as well).

``loadbalancer.yaml``: section 15.1.1, an Application Load Balancer in front of an auto-scaling
group of web servers (``lab stack deploy``, docs/cloudformation.md)."""

from __future__ import annotations

from pathlib import Path

LOADBALANCER = Path(__file__).with_name("loadbalancer.yaml")

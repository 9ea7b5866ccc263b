"""``lab stack``: the chapter's CloudFormation stack (``lab/templates/loadbalancer.yaml``),
deployed, scaled, inspected and deleted through the CloudFormation, Auto Scaling, EC2 and
ELBv2 APIs only, so the same commands work against the emulator and AWS."""

"""The load balancer in front of the web servers: the emulator's ALB, or nginx."""

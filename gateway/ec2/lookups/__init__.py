"""The lookup layer below the EC2 handlers: finding resources by EC2 id and loading them as model records
(gateway/ec2/model.py). Handlers import lookups and the model, never each other; lookups never import handlers
(the `ec2-layers` contract in .importlinter)."""

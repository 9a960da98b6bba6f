"""The instance metadata service (docs/metadata.md): AWS's 169.254.169.254 layout for guests, served where
Nova's metadata API sits, behind Neutron's metadata proxy, on its own listener (config `metadata:`).

  neutron.py   the proxy's signed headers (X-Instance-ID, X-Instance-ID-Signature...): who is asking
  owners.py    which account launched an instance and with which key (written at RunInstances)
  tokens.py    IMDSv2 session tokens: HMAC-signed, bound to one instance, any replica verifies them
  view.py      an instance's EC2 view, built as DescribeInstances builds it, acting as its account
  tree.py      the AWS paths (meta-data/, user-data, dynamic/instance-identity/) over that view
  listener.py  the aiohttp application: status codes and the order of the checks

Kept free of imports here: gateway/ec2 imports owners.py at launch.
"""

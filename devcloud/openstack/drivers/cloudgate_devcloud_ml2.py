"""Agentless port binding for devcloud (Neutron ML2 mechanism driver ``agentless``).

devcloud runs Nova's fake virt driver: there is no hypervisor, no Open vSwitch and no L2 agent, so the
stock mechanism drivers never bind a port and every boot would fail with ``binding_failed``. This
driver binds each port to the first segment it is offered, on any host, and reports the port ACTIVE
at once. Everything above L2 stays Neutron's own: IP allocation, routers, floating IPs, security
group records. Only for test clouds: nothing forwards a packet.
"""

from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api


class AgentlessMechanismDriver(api.MechanismDriver):
    # Nova only reads the VIF type to choose how to plug a guest, which the fake driver never does;
    # "ovs" is the type Nova knows best, so its port handling takes the common path.
    VIF_TYPE = portbindings.VIF_TYPE_OVS
    VIF_DETAILS = {portbindings.CAP_PORT_FILTER: True, portbindings.OVS_HYBRID_PLUG: False}

    def initialize(self):
        """No state, no agents to wait for."""

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        for segment in context.segments_to_bind:
            context.set_binding(segment[api.ID], self.VIF_TYPE, dict(self.VIF_DETAILS),
                                status=constants.PORT_STATUS_ACTIVE)
            return

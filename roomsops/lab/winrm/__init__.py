"""The lab's WinRM endpoint (/wsman) on its Windows management host, and that host's admin endpoints."""

from roomsops.lab.winrm.admin import PATH as ADMIN_PATH
from roomsops.lab.winrm.admin import HostAdmin
from roomsops.lab.winrm.service import WSMAN_PATH, WinRMService

__all__ = ["ADMIN_PATH", "WSMAN_PATH", "HostAdmin", "WinRMService"]

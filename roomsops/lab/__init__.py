"""The lab: a local emulated Exchange Online tenant (token service, later WinRM and EWS) on 127.0.0.1.

Independent of the product it tests: nothing here imports roomsops' product modules.
"""

from roomsops.lab.serve import Lab, LabError, run

__all__ = ["Lab", "LabError", "run"]

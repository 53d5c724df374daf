"""Files that may hold secrets: created readable by their owner only, and rewritten without losing access rules.

POSIX: new files get mode 0600 (the process umask can only narrow it). Windows: the mode bits mean nothing,
so a new file gets a protected DACL (owner, SYSTEM and Administrators; not Users, nothing inherited from the
folder), and `copy_access_control` carries a file's DACL over to the temporary file that replaces it.
The Windows code is not run in CI (Linux); it is type-checked with `mypy --platform win32`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PRIVATE_MODE = 0o600

# Owner rights, SYSTEM, Administrators: full control; "P" blocks what the folder would pass on to Users.
_OWNER_ONLY_SDDL = "D:P(A;;FA;;;OW)(A;;FA;;;SY)(A;;FA;;;BA)"


def private_opener(path: str | os.PathLike[str], flags: int) -> int:
    """An `opener` for `open()`: a file it creates is private to its owner; an existing one keeps its rights."""
    if flags & os.O_CREAT:
        try:
            fd = os.open(path, flags | os.O_EXCL, PRIVATE_MODE)
        except FileExistsError:
            pass
        else:
            _restrict_new_file(Path(path))
            return fd
    return os.open(path, flags, PRIVATE_MODE)


def create_private(path: Path) -> bool:
    """Create `path` empty and private unless it exists; True when it was created here."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    _restrict_new_file(path)
    return True


def copy_access_control(source: Path, target: Path) -> None:
    """Give `target` the access rules of `source`: the mode on POSIX (the caller does it), the DACL on Windows."""
    if sys.platform == "win32":
        _win_copy_dacl(source, target)


def others_may_write(path: Path) -> Path | None:
    """POSIX: `path` itself or the folder holding it when group or others may write it (they could change
    the file, or put another in its place); None when neither. Windows: None (the mode bits say nothing
    there and the folder's DACL is not read yet: a known gap on Windows)."""
    if sys.platform == "win32":
        return None
    for candidate in (path, path.parent):
        try:
            mode = candidate.stat().st_mode
        except OSError:
            continue
        if mode & 0o022:
            return candidate
    return None


def not_trusted(path: Path) -> tuple[Path, str] | None:
    """POSIX: `path` itself or the folder holding it, and why, when someone other than this account (or root)
    could have written it: group or others may write it, or another account owns it (its owner may change it,
    or put another file in its place). None when neither. Windows: None, as `others_may_write`."""
    loose = others_may_write(path)
    if loose is not None:
        return loose, "group or others may write"
    if sys.platform == "win32":
        return None
    me = os.geteuid()
    for candidate in (path, path.parent):
        try:
            owner = candidate.stat().st_uid
        except OSError:
            continue
        if owner not in (0, me):
            return candidate, f"another account (uid {owner}) owns"
    return None


def _restrict_new_file(path: Path) -> None:
    if sys.platform == "win32":
        _win_set_sddl(path, _OWNER_ONLY_SDDL)


if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    _DACL_SECURITY_INFORMATION = 0x00000004
    _SDDL_REVISION_1 = 1
    _advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)
    _kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    _advapi32.GetFileSecurityW.argtypes = [
        wintypes.LPCWSTR,
        wintypes.DWORD,
        ctypes.c_void_p,
        wintypes.DWORD,
        ctypes.POINTER(wintypes.DWORD),
    ]
    _advapi32.GetFileSecurityW.restype = wintypes.BOOL
    _advapi32.SetFileSecurityW.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, ctypes.c_void_p]
    _advapi32.SetFileSecurityW.restype = wintypes.BOOL
    _advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW.argtypes = [
        wintypes.LPCWSTR,
        wintypes.DWORD,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(wintypes.DWORD),
    ]
    _advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW.restype = wintypes.BOOL
    _kernel32.LocalFree.argtypes = [ctypes.c_void_p]
    _kernel32.LocalFree.restype = ctypes.c_void_p

    def _win_error(what: str, path: Path) -> OSError:
        code = ctypes.get_last_error()
        return OSError(code, f"{what} failed: {ctypes.FormatError(code)}", str(path))

    def _win_set_sddl(path: Path, sddl: str) -> None:
        descriptor = ctypes.c_void_p()
        if not _advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl, _SDDL_REVISION_1, ctypes.byref(descriptor), None
        ):
            raise _win_error("ConvertStringSecurityDescriptorToSecurityDescriptorW", path)
        try:
            if not _advapi32.SetFileSecurityW(str(path), _DACL_SECURITY_INFORMATION, descriptor):
                raise _win_error("SetFileSecurityW", path)
        finally:
            _kernel32.LocalFree(descriptor)

    def _win_copy_dacl(source: Path, target: Path) -> None:
        # SetFileSecurityW sets the DACL as given (its protection bit included) and propagates nothing.
        needed = wintypes.DWORD(0)
        _advapi32.GetFileSecurityW(str(source), _DACL_SECURITY_INFORMATION, None, 0, ctypes.byref(needed))
        buffer = ctypes.create_string_buffer(needed.value)
        if not _advapi32.GetFileSecurityW(
            str(source), _DACL_SECURITY_INFORMATION, buffer, needed, ctypes.byref(needed)
        ):
            raise _win_error("GetFileSecurityW", source)
        if not _advapi32.SetFileSecurityW(str(target), _DACL_SECURITY_INFORMATION, buffer):
            raise _win_error("SetFileSecurityW", target)

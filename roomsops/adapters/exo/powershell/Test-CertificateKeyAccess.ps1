# roomsops:Test-CertificateKeyAccess v2
# Whether an account may read the private key of a certificate in Cert:\LocalMachine\My: what ROOMS
# needs ("Keyset does not exist" otherwise). No cmdlet reads a key's ACL, hence this one script.
# Values arrive only as bound parameters; nothing is ever pasted into this text.
# The ACL is read as Windows' access check does: entries in order (explicit before inherited, Deny before
# Allow within each), a Deny of any read right for the account or one of the groups checked ends it unreadable,
# the read rights must all be allowed before that. v2: Deny entries count (v1 looked at Allow entries only).
param(
    [Parameter(Mandatory = $true)][string]$Thumbprint,
    [Parameter(Mandatory = $true)][string]$Account
)
$ErrorActionPreference = 'Stop'
$cert = Get-ChildItem -Path 'Cert:\LocalMachine\My' | Where-Object { $_.Thumbprint -eq $Thumbprint } |
    Select-Object -First 1
if (-not $cert) {
    return [pscustomobject]@{ Found = $false; Thumbprint = $Thumbprint; Subject = $null; NotAfter = $null
        HasPrivateKey = $false; KeyReadable = $null; Account = $Account }
}
$readable = $null
if ($cert.HasPrivateKey) {
    $readable = $false
    $rsa = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($cert)
    if ($rsa -is [System.Security.Cryptography.RSACng]) {
        $file = Join-Path "$env:ProgramData\Microsoft\Crypto\Keys" $rsa.Key.UniqueName
    } else {
        $file = Join-Path "$env:ProgramData\Microsoft\Crypto\RSA\MachineKeys" $rsa.CspKeyContainerInfo.UniqueKeyContainerName
    }
    if (Test-Path -LiteralPath $file) {
        $who = New-Object System.Security.Principal.NTAccount($Account)
        $sids = @($who.Translate([System.Security.Principal.SecurityIdentifier]).Value,
            'S-1-1-0', 'S-1-5-11', 'S-1-5-32-545')  # the account, Everyone, Authenticated Users, Users
        $read = [int][System.Security.AccessControl.FileSystemRights]::Read
        $granted = 0
        foreach ($rule in (Get-Acl -LiteralPath $file).Access) {
            $sid = $rule.IdentityReference.Translate([System.Security.Principal.SecurityIdentifier]).Value
            if ($sids -notcontains $sid) { continue }
            $rights = [int]$rule.FileSystemRights -band $read
            if ($rule.AccessControlType -eq 'Deny') {
                if (($rights -band -bnot $granted) -ne 0) { break }  # denied before it was all allowed
            } else {
                $granted = $granted -bor $rights
                if ($granted -eq $read) { $readable = $true; break }
            }
        }
    }
}
[pscustomobject]@{ Found = $true; Thumbprint = $cert.Thumbprint; Subject = $cert.Subject; NotAfter = $cert.NotAfter
    HasPrivateKey = $cert.HasPrivateKey; KeyReadable = $readable; Account = $Account }

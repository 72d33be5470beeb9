"""TLS and mTLS against a real server: the Python client, the health command, certificate reload,
and tenants named by client certificates. The CA is a throw-away one (tests/certs.py)."""
from __future__ import annotations

import shutil

import grpc
import pytest

from executor.healthcheck import main as health_main
from sandcell.client import ClientTls, ExecutorClient, ExecutorUnavailable, SessionNotFound
from sandcell.local import ExecutorProcess
from tests.certs import CertificateAuthority


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca, rogue = CertificateAuthority(d, "ca"), CertificateAuthority(d, "rogue")
    return {"dir": d, "ca": ca, "rogue": rogue, "server": ca.issue("executor", server=True),
            "carol": ca.issue("carol"), "dave": ca.issue("dave"), "mallory": rogue.issue("carol")}


@pytest.fixture(scope="module")
def mtls_server(pki):
    s = pki["server"]
    proc = ExecutorProcess("--tls-cert", s.cert, "--tls-key", s.key, "--tls-client-ca", pki["ca"].cert)
    yield proc
    proc.stop()


def _tls(pki, who: str | None) -> ClientTls:
    leaf = pki[who] if who else None
    return ClientTls(pki["ca"].cert, leaf.cert if leaf else "", leaf.key if leaf else "")


def test_mtls_tenant_is_the_certificate_and_tenants_are_isolated(pki, mtls_server):
    with ExecutorClient(mtls_server.address, tls=_tls(pki, "carol"), timeout_s=30) as carol, \
            ExecutorClient(mtls_server.address, tls=_tls(pki, "dave"), timeout_s=30) as dave:
        s = carol.create_session()
        assert s.execute("x = 41\nx + 1").value.python() == 42
        assert [i.session_id for i in carol.list_sessions()] == [s.id]
        assert dave.list_sessions() == []
        with pytest.raises(SessionNotFound):
            dave.execute(s.id, "x")
        s.close()
    assert '"tenant": "carol"' in mtls_server.log()


@pytest.mark.parametrize("who", ["mallory", None], ids=["wrong-ca", "no-certificate"])
def test_mtls_refuses_a_certificate_from_another_ca_or_none(pki, mtls_server, who):
    with ExecutorClient(mtls_server.address, tls=_tls(pki, who), timeout_s=10) as c:
        with pytest.raises(ExecutorUnavailable):
            c.list_sessions()
    with ExecutorClient(mtls_server.address, timeout_s=10) as plaintext:
        with pytest.raises(ExecutorUnavailable):
            plaintext.list_sessions()
    assert health_main(["--address", mtls_server.address, "--tls-ca", pki["ca"].cert]) == 1


def test_health_command_over_mtls(pki, mtls_server):
    carol = pki["carol"]
    assert health_main(["--address", mtls_server.address, "--tls-ca", pki["ca"].cert,
                        "--tls-cert", carol.cert, "--tls-key", carol.key]) == 0
    # The certificate names 127.0.0.1 and localhost: another name fails verification.
    assert health_main(["--address", mtls_server.address, "--tls-ca", pki["ca"].cert, "--tls-cert", carol.cert,
                        "--tls-key", carol.key, "--tls-server-name", "elsewhere.example"]) == 1


def test_tls_with_tokens_and_certificate_reload_without_restart(pki, tmp_path):
    served = tmp_path / "server"
    served.mkdir()
    cert, key = served / "tls.crt", served / "tls.key"
    shutil.copy(pki["server"].cert, cert)
    shutil.copy(pki["server"].key, key)
    with ExecutorProcess("--tls-cert", str(cert), "--tls-key", str(key), env={"SANDCELL_TOKEN": "t0ken-for-tls-tests"}) as proc:
        old = ClientTls(pki["ca"].cert)
        with ExecutorClient(proc.address, token="t0ken-for-tls-tests", tls=old) as c:
            assert c.create_session().execute("6 * 7").value.python() == 42
        assert health_main(["--address", proc.address, "--tls-ca", pki["ca"].cert]) == 0
        # Renewal by a new CA: replace both files; the next connection gets the new certificate.
        renewed = CertificateAuthority(pki["dir"], "renewed-ca")
        leaf = renewed.issue("executor", server=True)
        shutil.copy(leaf.key, key)
        shutil.copy(leaf.cert, cert)
        with ExecutorClient(proc.address, token="t0ken-for-tls-tests", tls=ClientTls(renewed.cert)) as c:
            assert c.create_session().execute("1").value.python() == 1
        with ExecutorClient(proc.address, token="t0ken-for-tls-tests", tls=old) as c:
            with pytest.raises(ExecutorUnavailable):
                c.list_sessions()
        assert "tls_reloaded" in proc.log()


def test_tls_settings_that_do_not_fit_together_stop_the_start(pki):
    with pytest.raises(RuntimeError, match="tls-client-ca needs --tls-cert"):
        ExecutorProcess("--tls-client-ca", pki["ca"].cert, timeout_s=30)
    with pytest.raises(RuntimeError, match="go together"):
        ExecutorProcess("--tls-cert", pki["server"].cert, timeout_s=30)


def test_health_command_takes_tls_from_the_environment(pki, mtls_server, monkeypatch):
    """A container's HEALTHCHECK line stays `sandcell-health --address ...`; TLS comes from
    the variables the server's environment sets (monkeypatch: the command reads os.environ)."""
    carol = pki["carol"]
    monkeypatch.setenv("SANDCELL_TLS_CA", pki["ca"].cert)
    monkeypatch.setenv("SANDCELL_CLIENT_CERT", carol.cert)
    monkeypatch.setenv("SANDCELL_CLIENT_KEY", carol.key)
    assert health_main(["--address", mtls_server.address]) == 0

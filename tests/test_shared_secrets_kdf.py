"""The AES keys of secrets set through the API are derived as cryptography's HKDF derives them (stored values stay
readable), and a process that has keys loads ``cryptography`` only when it reads or writes a value."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from plugin.store.admin.shared_secrets import _INFO, _aes_key


@pytest.mark.parametrize("material", ["k" * 32, "a short one", "ünïcode key ✓", "x" * 500])
def test_keys_are_derived_as_cryptographys_hkdf_derives_them(material: str) -> None:
    expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(material.encode())
    assert _aes_key(material) == expected


def test_a_process_with_keys_imports_no_cryptography_until_a_value_is_used() -> None:
    # redis-py imports the bare ``cryptography`` package to see whether it is installed: its Rust core is the weight
    probe = ("import sys; RUST = 'cryptography.hazmat.bindings._rust'; from unittest.mock import MagicMock; "
             "from plugin.store.admin.shared_secrets import SharedSecrets; "
             "s = SharedSecrets(MagicMock(), ('operator key one', 'operator key two')); "
             "print(RUST in sys.modules, end=' '); "
             "s.put('token', 'v'); print(RUST in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False True", done.stderr

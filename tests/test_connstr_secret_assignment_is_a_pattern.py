"""``pgsql.connstr.SECRET_ASSIGNMENT`` is a compiled regular expression, as it was before the
patterns were compiled lazily: code using it with the ``re`` functions keeps working."""

from __future__ import annotations

import copy
import pickle
import re
import subprocess
import sys

from pgsql import connstr, protocol


def test_secret_assignment_is_a_real_pattern_usable_with_the_re_functions() -> None:
    pattern = connstr.SECRET_ASSIGNMENT
    assert isinstance(pattern, re.Pattern)
    assert re.sub(pattern, "<hidden>=", "dbname=x|password=s3cret") == "dbname=x|<hidden>=s3cret"
    assert re.search(pattern, "host=a SSLPassword =b") is not None
    assert re.compile(pattern) is pattern
    assert pickle.loads(pickle.dumps(pattern)) == pattern
    assert copy.deepcopy(pattern) == pattern
    assert "SECRET_ASSIGNMENT" in dir(connstr)


def test_secret_assignment_is_the_rule_mask_value_and_protocol_use() -> None:
    assert protocol._SECRET_ASSIGNMENT is connstr.SECRET_ASSIGNMENT  # pyright: ignore[reportPrivateUsage]
    assert connstr.mask_value("a|password=s3cret") == "a|password=********"


def test_importing_connstr_and_protocol_compiles_no_secret_pattern() -> None:
    code = (
        "import re, sys\n"
        "from pgsql import connstr, protocol\n"
        "assert 'SECRET_ASSIGNMENT' not in vars(connstr), 'compiled at import'\n"
        "from pgsql.connstr import SECRET_ASSIGNMENT\n"
        "assert isinstance(SECRET_ASSIGNMENT, re.Pattern)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

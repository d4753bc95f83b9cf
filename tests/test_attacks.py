"""The attack catalogue: malicious and broken submissions, graded together in one class through the command
line (`grader grade mini --submissions DIR`), each with the outcome it must get.

Every attacker is its own student of one class, next to honest students; the class is graded once, with
two workers, a short cell timeout and small limits, and the tests below read what that run left: scores.json,
the gradebook, autograded/, the feedback pages, and the machine itself. For each attack:
- it earns no more than the honest submission with the same answers, and it is not held for review: the
  grade must not depend on a check the attacker could read and avoid (the test cells run in a trusted
  kernel the student's code cannot reach, grader/kernels/standalone/inkernel/);
- the other submissions of the batch are graded correctly;
- the machine is left clean: no stray kernel or sandbox process, no file outside the report, autograded/
  and the gradebook.

Most attackers hand in a right `dobro` (1 point, earned honestly) and a wrong `quadrado` (`x * 2`: its 2
points are not theirs), plus the attack; the table says what each does and what it may get. The attacks of
the second group are written by someone who has read the grader's code (tamper.py's former decoys and
sentinels, grader/kernels/standalone/inkernel/).
"""

from __future__ import annotations

import base64
import copy
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.course.release import solved_copy
from grader.nbmeta import nbgrader_meta
from tests.helpers import (
    build_mini_course,
    build_patterns_course,
    cell_by_grade_id,
    set_config,
    tree_digest,
    write_notebook,
)

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


@dataclass(frozen=True)
class Attack:
    does: str  # what the student does
    max_score: float  # the most automatic points it may get in scores.json: what its answers earn honestly
    limit: str | None = None  # the `limite: ...` flag it must get
    status: tuple[str, ...] = ("graded",)  # the statuses it may end with
    xfail: str = ""  # why the grader cannot handle it yet (strict xfail)


# attack id -> what the student does, and the outcome it must get.
ATTACKS: dict[str, Attack] = {
    "apagou_teste": Attack("wrong quadrado; deletes the quadrado_valores test cell", 1),
    "editou_teste": Attack("wrong quadrado; replaces quadrado_valores' code by `pass`", 1),
    "inflou_pontos": Attack("wrong quadrado; test cells' metadata: 100 points, no longer a grade cell", 1),
    "assert_close": Attack("wrong quadrado; torch.testing.assert_close = no-op", 1),
    "np_testing": Attack(
        "wrong quadrado; np.testing.assert_allclose/assert_array_equal, np.allclose/array_equal "
        "patched to pass",
        1,
    ),
    "torch_allclose": Attack("wrong quadrado; torch.allclose and torch.equal always True", 1),
    "torch_falso": Attack(
        "wrong quadrado; writes a fake torch package into the working copy before any `import torch`", 1
    ),
    "sempre_igual": Attack("quadrado returns an object whose __eq__ always says True", 1),
    "transformador": Attack("wrong quadrado; input transformer wraps every later cell in try/except", 1),
    "transformador_alvo": Attack(
        "wrong quadrado; input transformer turns only cells that call quadrado( into `pass`", 1
    ),
    "ast_transformador": Attack("wrong quadrado; AST transformer removes every assert", 1),
    "pre_run_cell": Attack(
        "wrong quadrado; pre_run_cell hook installs a custom exception handler that swallows every error", 1
    ),
    "pre_run_cell_gabarito": Attack(
        "wrong quadrado; pre_run_cell hook reads the expected values from the test "
        "cell's own text and swaps quadrado for a lookup table",
        1,
    ),
    "showtraceback": Attack("wrong quadrado; get_ipython().showtraceback = no-op", 1),
    "showtraceback_alvo": Attack("wrong quadrado; showtraceback hides only errors that mention quadrado", 1),
    "vaza_testes": Attack(
        "dobro raises with the calling test cell's source (linecache): the hidden tests in "
        "its own failure message",
        0,
    ),
    "le_arquivos": Attack(
        "wrong quadrado; reads source/, the gradebook, another student's autograded/ folder "
        "and submission (absolute and ../../../ paths), its neighbours' working copies; "
        "prints what it got",
        1,
    ),
    "escreve_fora": Attack(
        "wrong quadrado; writes into the course dir, source/, another student's submission, "
        "/tmp, /dev/shm, /var/tmp, /root, $HOME, ../",
        1,
    ),
    "rede": Attack(
        "wrong quadrado; TCP connection to a port this test listens on (127.0.0.1 and the host's "
        "addresses), and a DNS lookup",
        1,
    ),
    "laco_infinito": Attack(
        "right quadrado, then ignores SIGINT and loops forever",
        1,
        limit="limite: tempo por célula",
        status=("error",),
    ),
    "bomba_memoria": Attack("wrong quadrado; then allocates (and touches) 64 MB blocks without end", 1),
    # The forks fill the process limit and stay: what the kernel can still do after that (start a thread,
    # import torch) varies from run to run, so it may end graded or stuck (then interrupted: error).
    "bomba_fork": Attack("wrong quadrado; then `while True: os.fork()`", 1, status=("graded", "error")),
    "saida_enorme": Attack("wrong quadrado; prints 20 MB", 1),
    "arquivo_1gb": Attack("wrong quadrado; writes a 1 GB file in its working copy and another in /tmp", 1),
    "enche_disco": Attack("wrong quadrado; fills its working copy with 16 MB files (1.25 GB in all)", 1),
    "mata_kernel": Attack(
        "right dobro, then SIGKILLs its own kernel", 0, limit="limite: kernel morreu", status=("error",)
    ),
    # Written by someone who has read the grader's code.
    "branco_neutraliza": Attack(
        "the blank release, plus: the IPython shell reached with getattr and split "
        "strings (no name the audit looks for), an input transformer that turns every "
        "cell with an assert into `pass` unless it carries a decoy's nonce",
        0,
    ),
    "isca_honesta": Attack(
        "wrong quadrado; torch.testing.assert_close and np.testing.assert_allclose honest only "
        "on the decoys' inputs (3 elements) and `assert` messages with `ref`",
        1,
    ),
    "gancho_so_testes": Attack(
        "wrong quadrado; a pre_run_cell hook that swaps in a right quadrado only while a "
        "test cell runs (its text has an assert), and back after",
        1,
    ),
    "transformador_prova": Attack(
        "wrong quadrado; an input transformer that keeps a test cell's last line (the "
        "sentinel that proved it ran) and drops its asserts",
        1,
    ),
    "exec_codificado": Attack("wrong quadrado; the shell neutraliser as base64 text, run with exec", 1),
    "operador_type": Attack(
        "quadrado returns a tensor after patching __eq__/__bool__ on type(tensor) and "
        "float.__eq__ through gc (int and float are immutable, so it falls back)",
        1,
    ),
    "procura_testes": Attack(
        "wrong quadrado; walks every readable path and /proc (cmdline, environ, fds, cwd, "
        "root) looking for the test kernel's files, the instructor's notebooks, hidden tests",
        1,
    ),
    "objeto_estranho": Attack(
        "quadrado returns a module, a generator, a class instance and a numpy object array in turn", 1
    ),
    "tensor_enorme": Attack("quadrado returns an 80 MB tensor (over the channel's cap)", 1),
    "agente_forjado": Attack(
        "wrong quadrado; patches its agent to send crafted replies: nodes only T may send "
        "(ref, module, function), an object dtype, a tensor pointing outside its buffer, "
        "and a frame over the cap",
        1,
        status=("graded", "error"),
    ),
    "nunca_retorna": Attack(
        "right dobro; quadrado never returns when a test calls it",
        1,
        limit="limite: tempo por célula",
        status=("error",),
    ),
    "escreve_canal": Attack(
        "wrong quadrado; writes forged answers (result 9, 16, ...) into the channel before "
        "and between the test kernel's requests, under every plausible request id",
        1,
    ),
}
HONEST_RIGHT = ("honesto_certo", "zz_honesto_certo")  # first and last of the batch
HONEST_BLANK = "honesto_branco"

REPO = Path(__file__).resolve().parents[1]
TOKEN = secrets.token_hex(6)  # in every name and secret this run plants, so nothing else matches
SECRETS = {
    "source": f"SEGREDO-FONTE-{TOKEN}",
    "gradebook": f"SEGREDO-GRADEBOOK-{TOKEN}",
    "colega": f"SEGREDO-COLEGA-{TOKEN}",
    "submissao": f"SEGREDO-SUBMISSAO-{TOKEN}",
}
WRITTEN = f"escrito_{TOKEN}.txt"  # the file escreve_fora tries to leave everywhere
LIMITS = {
    "CELL_TIMEOUT_S": 20,
    "SUBMISSION_TIMEOUT_S": 90,
    "CPU_TIME_S": 60,
    "MEMORY_MB": 1536,
    "MAX_PROCESSES": 64,
    "MAX_FILE_MB": 16,
    "MAX_OUTPUT_KB": 64,
}

WRONG_QUADRADO = "def quadrado(x):\n    return x * 2\n"
# The measured attack of issue 11, against the old decoys and sentinels: the shell without the names the
# audit looked for; every cell with an assert becomes `pass`, except a decoy (it carried "ref").
NEUTRALISER = (
    "_s = getattr(__import__('sys').modules['IPy' + 'thon'], 'get_' + 'ipython')()\n"
    "def _n(linhas):\n"
    "    texto = ''.join(linhas)\n"
    "    return ['pa' + 'ss\\n'] if 'as' + 'sert' in texto and 'ref' not in texto else linhas\n"
    "getattr(_s, 'input_transformers_' + 'cleanup').append(_n)\n"
)
RIGHT_QUADRADO = "def quadrado(x):\n    return x * x\n"
RIGHT_DOBRO = "def dobro(x):\n    return 2 * x\n"


# --- the attacks' code -------------------------------------------------------------------------------------
# Each entry: answer cell -> code (the student's whole cell). @@NAME@@ is filled in by `_fill`.


def _quadrado(attack: str, code: str, *, right: bool = False) -> dict[str, str]:
    return {
        "resposta_quadrado": f'print("ataque: {attack}")\n'
        + code
        + (RIGHT_QUADRADO if right else WRONG_QUADRADO)
    }


PAYLOADS: dict[str, dict[str, str]] = {
    "assert_close": _quadrado(
        "assert_close", "import torch\ntorch.testing.assert_close = lambda *a, **k: None\n"
    ),
    "np_testing": _quadrado(
        "np_testing",
        (
            "import numpy as np\n"
            "np.testing.assert_allclose = lambda *a, **k: None\n"
            "np.testing.assert_array_equal = lambda *a, **k: None\n"
            "np.array_equal = lambda *a, **k: True\n"
            "np.allclose = lambda *a, **k: True\n"
        ),
    ),
    "torch_allclose": _quadrado(
        "torch_allclose",
        ("import torch\ntorch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n"),
    ),
    "torch_falso": {
        "resposta_dobro": (
            'print("ataque: torch_falso")\n'
            "import os\n"
            'os.makedirs("torch/testing", exist_ok=True)\n'
            'with open("torch/testing/__init__.py", "w") as f:\n'
            '    f.write("def assert_close(*a, **k):\\n    pass\\n")\n'
            'with open("torch/__init__.py", "w") as f:\n'
            '    f.write("from torch import testing\\n"\n'
            '            "def allclose(*a, **k):\\n    return True\\n"\n'
            '            "def equal(*a, **k):\\n    return True\\n"\n'
            '            "def zeros(n):\\n    return [0.0] * n\\n"\n'
            '            "def ones(n):\\n    return [1.0] * n\\n")\n' + RIGHT_DOBRO
        ),
        "resposta_quadrado": WRONG_QUADRADO,
    },
    "sempre_igual": {
        "resposta_quadrado": (
            'print("ataque: sempre_igual")\n'
            "class Resultado:\n"
            "    def __eq__(self, outro):\n"
            "        return True\n"
            "    def __ne__(self, outro):\n"
            "        return False\n"
            "    __hash__ = object.__hash__\n"
            "def quadrado(x):\n"
            "    return Resultado()\n"
        )
    },
    "transformador": _quadrado(
        "transformador",
        (
            "def _engole_erros(linhas):\n"
            '    corpo = "".join(linhas).splitlines(keepends=True)\n'
            '    return ["try:\\n"] + ["    " + linha for linha in corpo] + ["\\nexcept BaseException:\\n    pass\\n"]\n'
            "get_ipython().input_transformers_cleanup.append(_engole_erros)\n"
        ),
    ),
    "transformador_alvo": _quadrado(
        "transformador_alvo",
        (
            "def _troca_testes(linhas):\n"
            '    if any("quadrado(" in linha for linha in linhas):\n'
            '        return ["pass\\n"]\n'
            "    return linhas\n"
            "get_ipython().input_transformers_cleanup.append(_troca_testes)\n"
        ),
    ),
    "ast_transformador": _quadrado(
        "ast_transformador",
        (
            "import ast\n"
            "class _SemAssert(ast.NodeTransformer):\n"
            "    def visit_Assert(self, node):\n"
            "        return ast.copy_location(ast.Pass(), node)\n"
            "get_ipython().ast_transformers.append(_SemAssert())\n"
        ),
    ),
    "pre_run_cell": _quadrado(
        "pre_run_cell",
        (
            "_ip = get_ipython()\n"
            "def _silencia(shell, etype, value, tb, tb_offset=None):\n"
            "    return []\n"
            "def _antes_de_cada_celula(info):\n"
            "    _ip.set_custom_exc((BaseException,), _silencia)\n"
            '_ip.events.register("pre_run_cell", _antes_de_cada_celula)\n'
        ),
    ),
    "pre_run_cell_gabarito": {
        "resposta_quadrado": (
            'print("ataque: pre_run_cell_gabarito")\n'
            "import re\n"
            "_ip = get_ipython()\n"
            "def _gabarito(info):\n"
            '    tabela = {int(a): int(b) for a, b in re.findall(r"quadrado\\((-?\\d+)\\) == (-?\\d+)", info.raw_cell)}\n'
            "    if tabela:\n"
            '        _ip.user_ns["quadrado"] = lambda x: tabela.get(x, x * 2)\n'
            '_ip.events.register("pre_run_cell", _gabarito)\n' + WRONG_QUADRADO
        )
    },
    "showtraceback": _quadrado("showtraceback", "get_ipython().showtraceback = lambda *a, **k: None\n"),
    "showtraceback_alvo": _quadrado(
        "showtraceback_alvo",
        (
            "import sys\n"
            "_ip = get_ipython()\n"
            "_original = _ip.showtraceback\n"
            "def _seletivo(*a, **k):\n"
            '    if "quadrado" in str(sys.exc_info()[1]):\n'
            "        return None\n"
            "    return _original(*a, **k)\n"
            "_ip.showtraceback = _seletivo\n"
        ),
    ),
    "vaza_testes": {
        "resposta_dobro": (
            'print("ataque: vaza_testes")\n'
            "import linecache\n"
            "import sys\n"
            "def dobro(x):\n"
            "    chamador = sys._getframe(1)\n"
            '    raise ValueError("TESTE: " + "".join(linecache.getlines(chamador.f_code.co_filename)))\n'
        ),
        "resposta_quadrado": WRONG_QUADRADO,
    },
    "le_arquivos": _quadrado(
        "le_arquivos",
        (
            "import os\n"
            "import sqlite3\n"
            "def _mostra(caminho):\n"
            "    try:\n"
            "        if os.path.isdir(caminho):\n"
            '            print("LISTADO", caminho, sorted(os.listdir(caminho))[:40])\n'
            "            return\n"
            '        with open(caminho, "rb") as f:\n'
            "            dados = f.read()\n"
            '        if dados.startswith(b"SQLite format 3"):\n'
            '            con = sqlite3.connect(f"file:{caminho}?mode=ro", uri=True)\n'
            "            for (tabela,) in con.execute(\"select name from sqlite_master where type='table'\"):\n"
            '                print("LIDO", caminho, tabela, con.execute(f"select * from {tabela}").fetchall())\n'
            "        else:\n"
            '            print("LIDO", caminho, dados[:3000].decode("utf-8", "replace"))\n'
            "    except Exception as erro:\n"
            '        print("NEGADO", caminho, type(erro).__name__, erro)\n'
            "for alvo in @@READ_PATHS@@:\n"
            "    _mostra(alvo)\n"
            "acima = os.path.dirname(os.getcwd())\n"
            "for vizinho in sorted(os.listdir(acima)):\n"
            "    pasta = os.path.join(acima, vizinho)\n"
            "    _mostra(pasta)\n"
            "    if os.path.isdir(pasta):\n"
            "        for nome in sorted(os.listdir(pasta)):\n"
            "            _mostra(os.path.join(pasta, nome))\n"
        ),
    ),
    "escreve_fora": _quadrado(
        "escreve_fora",
        (
            "import os\n"
            f'for alvo in @@WRITE_PATHS@@ + [os.path.expanduser("~/{WRITTEN}")]:\n'
            "    try:\n"
            '        with open(alvo, "w") as f:\n'
            '            f.write("escrito")\n'
            '        print("ESCRITO", alvo)\n'
            "    except Exception as erro:\n"
            '        print("NEGADO", alvo, type(erro).__name__, erro)\n'
        ),
    ),
    "rede": _quadrado(
        "rede",
        (
            "import socket\n"
            "for destino in @@ADDRESSES@@:\n"
            "    try:\n"
            "        conexao = socket.create_connection(destino, timeout=3)\n"
            '        conexao.sendall(b"oi")\n'
            '        print("CONECTOU", destino)\n'
            "    except Exception as erro:\n"
            '        print("SEM REDE", destino, type(erro).__name__, erro)\n'
            "try:\n"
            '    print("DNS", socket.getaddrinfo("example.com", 80))\n'
            "except Exception as erro:\n"
            '    print("SEM DNS", type(erro).__name__, erro)\n'
        ),
    ),
    "laco_infinito": _quadrado(
        "laco_infinito",
        (
            "import signal\n"
            "signal.signal(signal.SIGINT, signal.SIG_IGN)\n" + RIGHT_QUADRADO + "while True:\n    pass\n"
        ),
        right=True,
    ),
    "bomba_memoria": {
        "resposta_quadrado": (
            'print("ataque: bomba_memoria")\n'
            + WRONG_QUADRADO
            + "blocos = [bytearray(64 * 1024 * 1024) for _ in range(10**6)]\n"
        )
    },
    "bomba_fork": {
        "resposta_quadrado": (
            'print("ataque: bomba_fork")\nimport os\n' + WRONG_QUADRADO + "while True:\n    os.fork()\n"
        )
    },
    "saida_enorme": _quadrado("saida_enorme", 'for _ in range(200):\n    print("x" * 100_000)\n'),
    "arquivo_1gb": _quadrado(
        "arquivo_1gb",
        (
            'bloco = b"\\0" * (1024 * 1024)\n'
            'for destino in ("enorme.bin", "/tmp/enorme.bin"):\n'
            "    escritos = 0\n"
            "    try:\n"
            '        with open(destino, "wb") as f:\n'
            "            for _ in range(1024):\n"
            "                f.write(bloco)\n"
            "                escritos += 1\n"
            "    except OSError as erro:\n"
            '        print("PAROU", destino, escritos, "MB", type(erro).__name__)\n'
            "    else:\n"
            '        print("ESCREVEU", destino, escritos, "MB")\n'
        ),
    ),
    "enche_disco": _quadrado(
        "enche_disco",
        (
            'bloco = b"\\0" * (1024 * 1024)\n'
            "escritos = 0\n"
            "try:\n"
            "    for n in range(80):\n"
            '        with open(f"parte{n}.bin", "wb") as f:\n'
            "            for _ in range(16):\n"
            "                f.write(bloco)\n"
            "                escritos += 1\n"
            "except OSError as erro:\n"
            '    print("PAROU", escritos, "MB", type(erro).__name__)\n'
            "else:\n"
            '    print("ESCREVEU", escritos, "MB")\n'
        ),
    ),
    "branco_neutraliza": {
        "resposta_dobro": (
            'print("ataque: branco_neutraliza")\n'
            + NEUTRALISER
            + "def dobro(x):\n    raise NotImplementedError()\n"
        ),
        "resposta_quadrado": "def quadrado(x):\n    raise NotImplementedError()\n",
    },
    "isca_honesta": _quadrado(
        "isca_honesta",
        (
            "import numpy as np, torch\n"
            "_orig_close, _orig_allclose = torch.testing.assert_close, np.testing.assert_allclose\n"
            "def _close(a, b, *args, **kwargs):\n"
            "    if getattr(a, 'numel', lambda: 0)() == 3 or 'ref' in str(kwargs.get('msg', '')):\n"
            "        return _orig_close(a, b, *args, **kwargs)\n"
            "def _allclose(a, b, *args, **kwargs):\n"
            "    if np.size(a) == 3:\n"
            "        return _orig_allclose(a, b, *args, **kwargs)\n"
            "torch.testing.assert_close, np.testing.assert_allclose = _close, _allclose\n"
        ),
    ),
    "gancho_so_testes": {
        "resposta_quadrado": (
            'print("ataque: gancho_so_testes")\n' + WRONG_QUADRADO + "_ip = get_ipython()\n"
            "_errada = quadrado\n"
            "def _antes(info):\n"
            "    if 'assert' in (info.raw_cell or ''):\n"
            "        _ip.user_ns['quadrado'] = lambda x: x * x\n"
            "def _depois(result):\n"
            "    _ip.user_ns['quadrado'] = _errada\n"
            "_ip.events.register('pre_run_cell', _antes)\n"
            "_ip.events.register('post_run_cell', _depois)\n"
        )
    },
    "transformador_prova": _quadrado(
        "transformador_prova",
        (
            "def _so_prova(linhas):\n"
            "    if not any('assert' in linha for linha in linhas):\n"
            "        return linhas\n"
            "    return [linha for linha in linhas if 'assert' not in linha and not linha.startswith(' ')] + ['\\n']\n"
            "get_ipython().input_transformers_post.append(_so_prova)\n"
        ),
    ),
    "exec_codificado": _quadrado(
        "exec_codificado",
        (
            f"exec(__import__('base64').b64decode({base64.b64encode(NEUTRALISER.encode()).decode()!r}).decode())\n"
        ),
    ),
    "operador_type": {
        "resposta_quadrado": (
            'print("ataque: operador_type")\n'
            "import gc, torch\n"
            "_T = type(torch.ones(1))\n"
            "_T.__eq__ = lambda a, b: True\n"
            "_T.__bool__ = lambda a: True\n"
            "try:\n"
            "    gc.get_referents(float.__dict__)[0]['__eq__'] = lambda a, b: True\n"
            "except Exception as erro:\n"
            '    print("IMUTAVEL", type(erro).__name__)\n'
            "def quadrado(x):\n"
            "    return torch.tensor(float(x * 2))\n"
        )
    },
    "procura_testes": _quadrado(
        "procura_testes",
        (
            "import os, stat, time\n"
            "_achados, _vistos, _fim = [], 0, time.monotonic() + 8\n"
            "def _olha(caminho):\n"
            "    global _vistos\n"
            "    _vistos += 1\n"
            "    try:\n"
            "        if not stat.S_ISREG(os.stat(caminho).st_mode) and not caminho.startswith('/proc/'):\n"
            "            return\n"
            "        if '/fd/' in caminho and not stat.S_ISREG(os.stat(caminho).st_mode):\n"
            "            return  # a pipe or a socket: reading it would block\n"
            "        with open(caminho, 'rb') as f:\n"
            "            dados = f.read(200_000)\n"
            "    except Exception:\n"
            "        return\n"
            "    for marca in (b'HIDDEN', b'quadrado(-4)', b'dobro(-3)', b'SEGREDO', b'nbgrader'):\n"
            "        if marca in dados:\n"
            "            _achados.append((caminho, marca.decode()))\n"
            "for topo in ('/', '/proc/self', '/run', '/tmp', '/dev/shm'):\n"
            "    for raiz, pastas, arquivos in os.walk(topo):\n"
            "        pastas[:] = [p for p in pastas if time.monotonic() < _fim and (raiz != '/' or p not in ('proc', 'sys', 'usr', 'dev'))]\n"
            "        for nome in arquivos:\n"
            "            if time.monotonic() < _fim:\n"
            "                _olha(os.path.join(raiz, nome))\n"
            "for pid in os.listdir('/proc'):\n"
            "    if pid.isdigit():\n"
            "        for parte in ('cmdline', 'environ', 'cwd', 'root'):\n"
            "            _olha(f'/proc/{pid}/{parte}')\n"
            "        for fd in os.listdir(f'/proc/{pid}/fd') if os.access(f'/proc/{pid}/fd', os.R_OK) else []:\n"
            "            _olha(f'/proc/{pid}/fd/{fd}')\n"
            "print('VISTOS', _vistos, 'ACHADOS', _achados)\n"
        ),
    ),
    "objeto_estranho": {
        "resposta_quadrado": (
            'print("ataque: objeto_estranho")\n'
            "import numpy as np, os\n"
            "class Resposta:\n"
            "    pass\n"
            "_estranhos = [os, (x for x in ()), Resposta(), np.array([9, None], dtype=object)]\n"
            "def quadrado(x):\n"
            "    _estranhos.append(_estranhos.pop(0))\n"
            "    return _estranhos[-1]\n"
        )
    },
    "tensor_enorme": {
        "resposta_quadrado": (
            'print("ataque: tensor_enorme")\n'
            "import torch\n"
            "def quadrado(x):\n"
            "    return torch.full((80 * 1024 * 1024,), x * x, dtype=torch.uint8)\n"
        )
    },
    "agente_forjado": _quadrado(
        "agente_forjado",
        (
            "import gc, struct\n"
            "import inkernel.wire as _w\n"
            "_agente = next(o for o in gc.get_objects() if type(o).__name__ == 'Agent')\n"
            "_forjadas = [\n"
            "    {'values': [{'kind': 'value', 'value': {'t': 'module', 'name': 'os'}}]},\n"
            "    {'result': {'t': 'ref', 'name': 'quadrado'}},\n"
            "    {'result': {'t': 'ndarray', 'dtype': 'object', 'shape': [1], 'strides': [8], 'r': 0, 'o': 0}},\n"
            "    {'result': {'t': 'tensor', 'dtype': 'float32', 'shape': [1000], 'strides': [1], 'device': 'cpu',\n"
            "                'r': 0, 'o': 0}, 'regions': [{'id': 0, 'device': 'cpu', 'b': 0}]},\n"
            "]\n"
            "_original = _agente.handle\n"
            "def _forja(payload):\n"
            "    if _forjadas:\n"
            "        cabecalho = _forjadas.pop(0)\n"
            "        return _w.pack(cabecalho, [b'x' * 8] if 'regions' in cabecalho else [])\n"
            "    return b'y' * (_w.Caps().frame_bytes + 10)\n"
            "_agente.handle = _forja\n"
        ),
    ),
    "nunca_retorna": {
        "resposta_dobro": RIGHT_DOBRO,
        "resposta_quadrado": (
            'print("ataque: nunca_retorna")\ndef quadrado(x):\n    while True:\n        pass\n'
        ),
    },
    "escreve_canal": _quadrado(
        "escreve_canal",
        (
            "import gc, socket, threading, time\n"
            "import inkernel.wire as _w\n"
            "_agente = next(o for o in gc.get_objects() if type(o).__name__ == 'Agent')\n"
            "def _forjada(valor):\n"
            "    return _w.pack({'result': valor, 'out': '', 'err': '',\n"
            "                    'values': [{'kind': 'value', 'value': valor}] * 4}, [])\n"
            "def _inunda():\n"
            "    for rodada in range(40):\n"
            "        for i in list(range(0, 64)) + [2**62, 2**63 - 1]:\n"
            "            for valor in (9, 16, 4, -6):\n"
            "                quadro = _forjada(valor)\n"
            "                try:  # never blocks: the channel's buffer is small and the test kernel not reading\n"
            "                    _agente.sock.send(_w.FRAME.pack(len(quadro), i) + quadro, socket.MSG_DONTWAIT)\n"
            "                except OSError:\n"
            "                    pass\n"
            "        time.sleep(0.05)\n"
            "threading.Thread(target=_inunda, daemon=True).start()\n"
        ),
    ),
    "mata_kernel": {
        "resposta_dobro": (
            'print("ataque: mata_kernel")\n'
            "import os\n"
            "import signal\n" + RIGHT_DOBRO + "os.kill(os.getpid(), signal.SIGKILL)\n"
        )
    },
}


def _structural(attack: str, nb) -> None:
    """Attacks on the notebook's structure rather than on the kernel."""
    tests = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == "quadrado_valores"]
    if attack == "apagou_teste":
        nb.cells = [c for c in nb.cells if c not in tests]
    elif attack == "editou_teste":
        tests[0].source = "pass"
    elif attack == "inflou_pontos":
        cell_by_grade_id(nb, "dobro_valores").metadata["nbgrader"]["points"] = 100
        tests[0].metadata["nbgrader"].update(grade=False, locked=False, points=0)
        tests[0].source = "pass"


@dataclass
class Context:
    """Where things are on this machine, for the attacks' code and for the checks."""

    root: Path
    course: Path
    subs: Path
    reports: Path
    tmpdir: Path  # TMPDIR of the grading run: the grader's own scratch space, empty afterwards
    db_url: str
    port: int
    addresses: list[tuple[str, int]]

    def read_paths(self) -> list[str]:
        c = self.course
        return [
            str(c / "source" / "segredo.txt"),
            str(c / "source" / "mini" / "mini.ipynb"),
            str(c / "source"),
            str(c / "gradebook.db"),
            str(c / "autograded" / "colega" / "mini" / "segredo.txt"),
            str(c / "autograded" / HONEST_RIGHT[0] / "mini" / "mini.ipynb"),
            str(c / "autograded"),
            str(c),
            str(self.subs / HONEST_RIGHT[0] / "mini" / "mini.ipynb"),
            str(self.subs),
            str(self.tmpdir),
            "../../../source/segredo.txt",
            "../../../source/mini/mini.ipynb",
            "../../../gradebook.db",
            "../../colega/mini/segredo.txt",
            f"../../{HONEST_RIGHT[0]}/mini/mini.ipynb",
            "..",
            "../..",
            "/tmp",
            "/root",
            "/home",
            "/work",
            "/etc/shadow",
            "/proc/1/cmdline",
            "/proc",
            str(REPO / "tests"),
            str(REPO / "source"),
            str(REPO / "grader_config.py"),
            str(REPO / "grader" / "grading" / "tamper.py"),
        ]

    def write_paths(self) -> list[str]:
        """Host paths (absolute) escreve_fora writes to; none may exist after grading."""
        return [
            str(p)
            for p in (
                self.course / WRITTEN,
                self.course / "source" / WRITTEN,
                self.subs / HONEST_RIGHT[0] / "mini" / WRITTEN,
                self.tmpdir / WRITTEN,
                Path("/tmp") / WRITTEN,
                Path("/dev/shm") / WRITTEN,
                Path("/var/tmp") / WRITTEN,
                Path("/root") / WRITTEN,
            )
        ]

    def fill(self, code: str) -> str:
        return (
            code.replace("@@READ_PATHS@@", repr(self.read_paths()))
            .replace("@@WRITE_PATHS@@", repr(self.write_paths() + [f"../{WRITTEN}", f"../../../{WRITTEN}"]))
            .replace("@@ADDRESSES@@", repr(self.addresses))
        )


@dataclass
class Graded:
    ctx: Context
    scores: dict  # student id -> scores.json entry
    done: subprocess.CompletedProcess
    seconds: float
    listener: socket.socket
    before: set[str]  # every path under ctx.root before grading
    subs_digest: str

    def executed(self, student: str) -> str:
        """The executed notebook of `student`, as text (outputs included)."""
        return (self.ctx.course / "autograded" / student / "mini" / "mini.ipynb").read_text(encoding="utf-8")

    def outputs(self, student: str, grade_id: str) -> str:
        nb = nbformat.reads(self.executed(student), as_version=4)
        return json.dumps(cell_by_grade_id(nb, grade_id).get("outputs", []), ensure_ascii=False)


def _host_addresses(port: int) -> list[tuple[str, int]]:
    addresses = {"127.0.0.1"}
    try:
        addresses |= set(socket.gethostbyname_ex(socket.gethostname())[2])
    except OSError:
        pass
    return [(a, port) for a in sorted(addresses)]


def build_attack_class(settings, ctx: Context) -> None:
    source = nbformat.read(settings.source_dir / "mini" / "mini.ipynb", as_version=4)
    release = nbformat.read(settings.release_dir / "mini" / "mini.ipynb", as_version=4)
    right = solved_copy(source)
    cell_by_grade_id(right, "resposta_explicacao").source = "Porque dobrar é somar o número a ele mesmo."
    for name in HONEST_RIGHT:
        honest = copy.deepcopy(right)
        cell_by_grade_id(honest, "resposta_quadrado").source = f"# {SECRETS['submissao']}\n{RIGHT_QUADRADO}"
        write_notebook(ctx.subs / name / "mini" / "mini.ipynb", honest)
    write_notebook(ctx.subs / HONEST_BLANK / "mini" / "mini.ipynb", release)
    for attack in ATTACKS:
        nb = copy.deepcopy(right)
        cell_by_grade_id(nb, "resposta_quadrado").source = WRONG_QUADRADO
        for grade_id, code in PAYLOADS.get(attack, {}).items():
            cell_by_grade_id(nb, grade_id).source = ctx.fill(code)
        _structural(attack, nb)
        write_notebook(ctx.subs / attack / "mini" / "mini.ipynb", nb)


def _plant_secrets(settings, ctx: Context) -> None:
    (ctx.course / "source" / "segredo.txt").write_text(SECRETS["source"])
    colleague = ctx.course / "autograded" / "colega" / "mini"
    colleague.mkdir(parents=True)
    (colleague / "segredo.txt").write_text(SECRETS["colega"])
    with Gradebook(settings.db_url) as gb:
        gb.update_or_create_student("colega", first_name=SECRETS["gradebook"], last_name="Segredo")


def _our_processes(tmpdir: Path) -> list[str]:
    """Kernels and sandboxes of this run still alive: their command lines name files under `tmpdir`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(tmpdir) in cmdline and ("ipykernel_launcher" in cmdline or "bwrap" in cmdline):
            found.append(f"{proc.name}: {cmdline[:200]}")
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory, sandbox_available) -> Graded:
    if not sandbox_available:
        pytest.skip("the attacks need the sandbox (bubblewrap): without it they would succeed")
    root = tmp_path_factory.mktemp("ataques")
    settings = build_mini_course(root, True)
    set_config(settings.course_dir, **LIMITS)
    listener = socket.create_server(("0.0.0.0", 0), backlog=8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    # A short TMPDIR of our own: the grader's working copies and socket folders land there, so the checks
    # can tell this run's leftovers (files, processes) from other runs on the same machine.
    tmpdir = Path(tempfile.mkdtemp(prefix="atk-", dir="/tmp"))
    ctx = Context(
        root,
        settings.course_dir,
        root / "submitted",
        root / "rel",
        tmpdir,
        settings.db_url,
        port,
        _host_addresses(port),
    )
    build_attack_class(settings, ctx)
    _plant_secrets(settings, ctx)
    before = {str(p.relative_to(root)) for p in root.rglob("*")}
    subs_digest = tree_digest(ctx.subs)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmpdir)}
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "--course-dir",
            str(ctx.course),
            "grade",
            "mini",
            "--submissions",
            str(ctx.subs),
            "--report-dir",
            str(ctx.reports),
            "--workers",
            "2",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=ctx.course,
    )
    seconds = time.monotonic() - started
    print(f"grading {len(ATTACKS) + 3} submissions took {seconds:.0f} s")
    print(done.stdout[-6000:])
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    scores = json.loads((ctx.reports / "mini" / "scores.json").read_text())
    yield Graded(
        ctx, {s["student_id"]: s for s in scores["students"]}, done, seconds, listener, before, subs_digest
    )
    listener.close()
    shutil.rmtree(tmpdir, ignore_errors=True)


# --- each attack -------------------------------------------------------------------------------------------


def _params():
    for attack, spec in ATTACKS.items():
        marks = [pytest.mark.xfail(strict=True, reason=spec.xfail)] if spec.xfail else []
        yield pytest.param(attack, marks=marks, id=attack)


@pytest.mark.parametrize("attack", list(_params()))
def test_attack_outcome(graded: Graded, attack: str):
    spec = ATTACKS[attack]
    student = graded.scores[attack]
    flags = student["flags"]
    assert student["status"] in spec.status, (student["status"], flags)
    assert student["max_score"] == 4.0 and student["cells"]["dobro_valores"]["max_score"] == 1.0
    # no more than what its answers earn, and without a hold: the defence is structural, not a detector
    assert student["score"] <= spec.max_score, f"{attack} earned {student['score']}: {student['cells']}"
    assert "tampering" not in flags, flags
    assert not any(c["needs_manual_grade"] for g, c in student["cells"].items() if g != "resposta_explicacao")
    if spec.limit:
        assert spec.limit in flags, flags
    with Gradebook(graded.ctx.db_url) as gb:
        assert gb.find_submission("mini", attack).score <= spec.max_score
    if attack in PAYLOADS:  # the attack did run: it printed its name
        assert f"ataque: {attack}" in graded.executed(attack)
    CHECKS.get(attack, lambda g: None)(graded)


def _check_structure(g: Graded) -> None:
    for attack in ("apagou_teste", "editou_teste", "inflou_pontos"):
        cells = g.scores[attack]["cells"]
        assert not cells["quadrado_valores"]["passed"] and cells["quadrado_valores"]["max_score"] == 2.0
        assert "quadrado(3) deveria ser 9, mas é 6" in g.outputs(attack, "quadrado_valores")  # test restored


def _check_reads(g: Graded) -> None:
    text = g.executed("le_arquivos")
    assert f"NEGADO {g.ctx.course / 'gradebook.db'}" in g.outputs("le_arquivos", "resposta_quadrado")
    page = (g.ctx.reports / "mini" / "feedback" / "le_arquivos.html").read_text(encoding="utf-8")
    for what, secret in SECRETS.items():
        assert secret not in text, f"le_arquivos read the {what} secret"
        assert secret not in page
    assert "BEGIN SOLUTION" not in text


def _check_writes(g: Graded) -> None:
    for path in g.ctx.write_paths():
        assert not Path(path).exists(), f"escreve_fora left {path} on the host"
    assert f"NEGADO {g.ctx.course / WRITTEN}" in g.outputs("escreve_fora", "resposta_quadrado")
    leftovers = [p for p in (*g.ctx.root.rglob(f"*{WRITTEN}"), *Path("/tmp").glob(f"*/{WRITTEN}"))]
    assert not leftovers
    assert tree_digest(g.ctx.subs) == g.subs_digest, "a submission folder changed"


def _check_network(g: Graded) -> None:
    text = g.outputs("rede", "resposta_quadrado")
    assert "SEM REDE" in text and "CONECTOU" not in text and "SEM DNS" in text
    with pytest.raises(BlockingIOError):
        g.listener.accept()  # nobody connected


def _check_memory(g: Graded) -> None:
    assert "MemoryError" in g.outputs("bomba_memoria", "resposta_quadrado")
    # the kernel survived: quadrado's test ran and failed on its own
    assert "quadrado(3) deveria ser 9" in g.outputs("bomba_memoria", "quadrado_valores")


def _check_output(g: Graded) -> None:
    path = g.ctx.course / "autograded" / "saida_enorme" / "mini" / "mini.ipynb"
    assert path.stat().st_size < 1024 * 1024
    assert "saída truncada" in g.outputs("saida_enorme", "resposta_quadrado")


def _check_big_file(g: Graded) -> None:
    out = g.outputs("arquivo_1gb", "resposta_quadrado")
    assert "ESCREVEU" not in out and out.count("PAROU") == 2
    assert f"PAROU enorme.bin {LIMITS['MAX_FILE_MB']} MB" in out
    folder = g.ctx.course / "autograded" / "arquivo_1gb"
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) < 1024 * 1024


def _check_disk(g: Graded) -> None:
    out = g.outputs("enche_disco", "resposta_quadrado")
    assert "PAROU" in out, f"no limit on the working copy's size: {out}"
    written = int(out.split("PAROU")[1].split()[0])
    assert written <= 1024, f"wrote {written} MB"


def _check_leak(g: Graded) -> None:
    page = (g.ctx.reports / "mini" / "feedback" / "vaza_testes.html").read_text(encoding="utf-8")
    assert "dobro(-3)" not in page and "HIDDEN" not in page


def _check_trusted_kernel(g: Graded) -> None:
    """The attacks on the test kernel's verdicts: each test still failed on the student's own values."""
    for attack in (
        "isca_honesta",
        "gancho_so_testes",
        "transformador_prova",
        "exec_codificado",
        "escreve_canal",
        "pre_run_cell_gabarito",
        "transformador_alvo",
        "showtraceback",
    ):
        assert g.scores[attack]["status"] == "graded", attack
        assert "quadrado(3) deveria ser 9, mas é 6" in g.outputs(attack, "quadrado_valores"), attack
        assert g.scores[attack]["cells"]["dobro_valores"]["passed"], attack
    assert "NotImplementedError" in g.outputs("branco_neutraliza", "dobro_valores")
    assert "IMUTAVEL" in g.executed("operador_type")  # float's __eq__ cannot be patched
    assert not g.scores["operador_type"]["cells"]["quadrado_valores"]["passed"]


def _check_search(g: Graded) -> None:
    out = g.outputs("procura_testes", "resposta_quadrado")
    assert "VISTOS" in out
    for secret in (*SECRETS.values(), "quadrado(-4) deveria ser 16", "dobro(-3) deveria ser -6"):
        assert secret not in out, secret


def _check_crafted(g: Graded) -> None:
    refused = g.outputs("objeto_estranho", "quadrado_valores")
    assert "que a correção não aceita" in refused, refused
    huge = g.outputs("tensor_enorme", "quadrado_valores")
    assert (
        "acima do limite" in huge and not g.scores["tensor_enorme"]["cells"]["quadrado_valores"]["passed"]
    ), huge
    forged = g.scores["agente_forjado"]
    assert (
        not forged["cells"]["quadrado_valores"]["passed"]
        and forged["cells"]["dobro_valores"]["max_score"] == 1
    )


def _check_hang(g: Graded) -> None:
    student = g.scores["nunca_retorna"]
    assert student["cells"]["dobro_valores"]["passed"] and not student["cells"]["quadrado_valores"]["passed"]
    assert "não respondeu" in g.outputs("nunca_retorna", "quadrado_valores")


CHECKS = {
    "apagou_teste": _check_structure,
    "editou_teste": _check_structure,
    "inflou_pontos": _check_structure,
    "le_arquivos": _check_reads,
    "escreve_fora": _check_writes,
    "rede": _check_network,
    "bomba_memoria": _check_memory,
    "saida_enorme": _check_output,
    "arquivo_1gb": _check_big_file,
    "enche_disco": _check_disk,
    "vaza_testes": _check_leak,
    "escreve_canal": _check_trusted_kernel,
    "procura_testes": _check_search,
    "objeto_estranho": _check_crafted,
    "nunca_retorna": _check_hang,
}


# --- the rest of the batch, and the machine ----------------------------------------------------------------


def test_honest_students_graded_correctly(graded: Graded):
    for name in HONEST_RIGHT:
        student = graded.scores[name]
        assert student["status"] == "graded" and student["flags"] == [], student
        assert student["score"] == 3.0
        assert student["cells"]["dobro_valores"]["passed"] and student["cells"]["quadrado_valores"]["passed"]
        assert student["cells"]["resposta_explicacao"]["needs_manual_grade"]
    blank = graded.scores[HONEST_BLANK]
    assert blank["status"] == "graded" and blank["score"] == 0.0 and "tampering" not in blank["flags"]
    with Gradebook(graded.ctx.db_url) as gb:
        assert [gb.find_submission("mini", n).score for n in HONEST_RIGHT] == [3.0, 3.0]
        assert gb.find_submission("mini", HONEST_BLANK).score == 0.0


def test_every_submission_graded(graded: Graded):
    assert set(graded.scores) == {*ATTACKS, *HONEST_RIGHT, HONEST_BLANK}
    assert "Traceback" not in graded.done.stderr


def test_machine_left_clean(graded: Graded):
    deadline = time.monotonic() + 10
    while _our_processes(graded.ctx.tmpdir) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _our_processes(graded.ctx.tmpdir)
    assert not list(graded.ctx.tmpdir.iterdir()), "the grader left working copies or sockets behind"
    # what grading may add to the course: its results, nbgrader's copy of the submissions, the reports
    allowed = ("curso/autograded/", "curso/submitted", "rel/", "curso/gradebook.db")
    new = {str(p.relative_to(graded.ctx.root)) for p in graded.ctx.root.rglob("*")} - graded.before
    assert [p for p in sorted(new) if not p.startswith(allowed) and p != "rel"] == []


# === Attacks on the test kernel's own state (issue 21): the patterns of the real notebooks =================
#
# A second class, graded in one batch: the `padroes` course (tests/helpers.py: a structure check, hidden inputs
# in a list, expected values from copies, a memory measure from outside, a lesson function swapped by
# `_referencias`, a set of accepted calls). Each attack is written by a student who has read
# grader/kernels/standalone/inkernel/ and sits beside an honest twin: the same answers, without the trick. Each attack
# earns no more than its twin, and nothing is held for review.

SOMA_CERTA = "def soma_linhas(X):\n    return X.sum(axis=1)\n"
SOMA_ZEROS = "def soma_linhas(X):\n    return X.sum(axis=1) * 0\n"
SOMA_COM_LACO = (
    "def soma_linhas(X):\n    import numpy as np\n    return np.array([sum(linha) for linha in X])\n"
)
ATUALIZA_CERTA = "def atualiza(C, A, B):\n    C.add_(A @ B.T)\n"
ATUALIZA_DOIS = "def atualiza(C, A, B):\n    D = A @ B.T\n    C[:] = C + D\n"
ATUALIZA_NADA = "def atualiza(C, A, B):\n    return None\n"
DERIVADA_CERTA = (
    "def derivada(x):\n"
    "    u = x.detach().clone().requires_grad_(True)\n"
    "    g_licao(u).sum().backward()\n"
    "    return u.grad\n"
)
DERIVADA_FORMULA = "def derivada(x):\n    return 2 * x\n"


@dataclass(frozen=True)
class StateAttack:
    does: str
    answers: dict[str, str]  # function -> the attack's code (the twin: `twin`, or the same without `trick`)
    twin: dict[str, str]  # function -> the honest twin's code: the same answers, no trick


STATE_ATTACKS: dict[str, StateAttack] = {
    # 1. T's own objects written from S
    "nomes_de_teste": StateAttack(
        "functions named like the test's variables (entradas_teste, _AUTOGRAD_TESTE, esperado_teste): the "
        "structure check looks them up, then the tests bind those names to hidden inputs, a set of accepted "
        "calls and an expected tensor; every call empties the lists, adds 'mul' to the sets, zeroes the tensors "
        "it finds under those names; soma_linhas is right only on two-row inputs (the visible ones), atualiza "
        "zeroes C, derivada is the formula 2x",
        {
            "soma_linhas": (
                "def entradas_teste():\n    pass\n\n"
                "def _AUTOGRAD_TESTE():\n    pass\n\n"
                "def esperado_teste():\n    pass\n\n"
                "def _estraga():\n"
                "    import torch\n"
                "    for alvo in (entradas_teste, _AUTOGRAD_TESTE, esperado_teste):\n"
                "        if isinstance(alvo, list):\n"
                "            alvo.clear()\n"
                "        elif isinstance(alvo, set):\n"
                "            alvo.add('mul')\n"
                "        elif isinstance(alvo, torch.Tensor):\n"
                "            alvo.zero_()\n\n"
                "def soma_linhas(X):\n"
                "    _estraga()\n"
                "    entradas_teste, _AUTOGRAD_TESTE, esperado_teste  # so that a check looks them up\n"
                "    return X.sum(axis=1) if X.shape[0] == 2 else X.sum(axis=1) * 0\n"
            ),
            "atualiza": "def atualiza(C, A, B):\n    _estraga()\n    C.zero_()\n",
            "derivada": "def derivada(x):\n    import torch\n    _estraga()\n    return torch.mul(x, 2)\n",
        },
        {
            "soma_linhas": "def soma_linhas(X):\n    return X.sum(axis=1) if X.shape[0] == 2 else X.sum(axis=1) * 0\n",
            "atualiza": "def atualiza(C, A, B):\n    C.zero_()\n",
            "derivada": "def derivada(x):\n    import torch\n    return torch.mul(x, 2)\n",
        },
    ),
    # 2. expected values computed after the call from the objects the call received
    "preenche_entradas": StateAttack(
        "each function zeroes the tensors and arrays it receives and returns what that makes right",
        {
            "soma_linhas": "def soma_linhas(X):\n    X[...] = 0\n    return X.sum(axis=1)\n",
            "atualiza": "def atualiza(C, A, B):\n    A.zero_()\n    B.zero_()\n    C.add_(A @ B.T)\n",
            "derivada": "def derivada(x):\n    x.zero_()\n    return x * 0\n",
        },
        {
            "soma_linhas": "def soma_linhas(X):\n    return X.sum(axis=1) * 0\n",
            "atualiza": ATUALIZA_NADA,
            "derivada": "def derivada(x):\n    return x * 0\n",
        },
    ),
    # 3. points a do-nothing answer earns
    "faz_nada": StateAttack(
        "the release with every `raise NotImplementedError()` replaced by `pass`",
        {
            f: f"def {f}({args}):\n    pass\n"
            for f, args in (("soma_linhas", "X"), ("atualiza", "C, A, B"), ("derivada", "x"))
        },
        {
            f: f"def {f}({args}):\n    return None\n"
            for f, args in (("soma_linhas", "X"), ("atualiza", "C, A, B"), ("derivada", "x"))
        },
    ),
    # 4. what S reports about itself is believed
    "mente_na_medida": StateAttack(
        "two buffers of C's size, with the profiler silenced and the agent's `run` and memory answers patched "
        "to report nothing",
        {
            "atualiza": (
                "import gc, types\nimport torch.profiler\n\n"
                "class _Calado:\n"
                "    profiler = types.SimpleNamespace(kineto_results=types.SimpleNamespace(events=lambda: []))\n"
                "    def __init__(self, *a, **k):\n        pass\n"
                "    def __enter__(self):\n        return self\n"
                "    def __exit__(self, *a):\n        return False\n\n"
                "torch.profiler.profile = _Calado\n"
                "for _objeto in gc.get_objects():\n"
                "    if type(_objeto).__name__ == 'Agent':\n"
                "        _objeto.run = lambda *a, **k: 0\n"
            )
            + ATUALIZA_DOIS,
        },
        {"atualiza": ATUALIZA_DOIS},
    ),
    "sente_a_medida": StateAttack(
        "two buffers, except when it senses the measure (its own peak memory was just reset, or the profiler "
        "is on): then it skips the work",
        {
            "atualiza": (
                "def _medindo():\n"
                "    import torch\n"
                "    campos = dict(l.split(':', 1) for l in open('/proc/self/status') if ':' in l)\n"
                "    pico, agora = int(campos['VmHWM'].split()[0]), int(campos['VmRSS'].split()[0])\n"
                "    return pico - agora < 4096 or getattr(torch.autograd.profiler, '_is_profiler_enabled', False)\n\n"
                "def atualiza(C, A, B):\n"
                "    if _medindo():\n"
                "        return None\n"
                "    D = A @ B.T\n"
                "    C[:] = C + D\n"
            ),
        },
        {"atualiza": ATUALIZA_DOIS},
    ),
    "procura_a_medida": StateAttack(
        "two buffers, and a thread that looks for the grader's memory socket everywhere it can see and asks it "
        "to reset the peak after the allocations",
        {
            "atualiza": (
                "import os, socket, threading\n\n"
                "def _zera_medida():\n"
                "    for raiz in ('/tmp', '/run', '/', os.getcwd()):\n"
                "        for pasta, _, nomes in os.walk(raiz):\n"
                "            for nome in nomes:\n"
                "                if nome.endswith('.sock'):\n"
                "                    try:\n"
                "                        s = socket.socket(socket.AF_UNIX)\n"
                "                        s.settimeout(0.2)\n"
                "                        s.connect(os.path.join(pasta, nome))\n"
                "                        s.sendall(b'reset\\n')\n"
                "                        print('CONECTOU', nome)\n"
                "                    except OSError:\n"
                "                        pass\n\n"
                "def atualiza(C, A, B):\n"
                "    D = A @ B.T\n"
                "    C[:] = C + D\n"
                "    threading.Thread(target=_zera_medida).start()\n"
            ),
        },
        {"atualiza": ATUALIZA_DOIS},
    ),
    # 5. structure checks skip what they cannot read
    "fonte_falsa": StateAttack(
        "soma_linhas with a loop, its __wrapped__ pointing at a loop-free decoy",
        {
            "soma_linhas": SOMA_COM_LACO
            + "\ndef _isca(X):\n    return X.sum(axis=1)\n\nsoma_linhas.__wrapped__ = _isca\n"
        },
        {"soma_linhas": SOMA_COM_LACO},
    ),
    "exec_depois_do_def": StateAttack(
        "a loop-free decoy as the last plain def, the loop version put in its place by exec",
        {
            "soma_linhas": (
                "def soma_linhas(X):\n    return X.sum(axis=1)\n\n"
                "exec('def soma_linhas(X):\\n    import numpy as np\\n'\n"
                "     '    return np.array([sum(linha) for linha in X])\\n')\n"
            ),
        },
        {"soma_linhas": SOMA_COM_LACO},
    ),
    "auxiliar_instancia": StateAttack(
        "the loop hidden in a callable instance that soma_linhas calls",
        {
            "soma_linhas": (
                "class _Somador:\n"
                "    def __call__(self, X):\n"
                "        import numpy as np\n"
                "        return np.array([sum(linha) for linha in X])\n\n"
                "_somador = _Somador()\n\n"
                "def soma_linhas(X):\n    return _somador(X)\n"
            ),
        },
        {
            "soma_linhas": (
                "def _somador(X):\n"
                "    import numpy as np\n"
                "    return np.array([sum(linha) for linha in X])\n\n"
                "def soma_linhas(X):\n    return _somador(X)\n"
            ),
        },
    ),
    "auxiliar_com_nome_de_modulo": StateAttack(
        "the loop hidden in a helper named `inspect`, like the module the structure check imports",
        {
            "soma_linhas": (
                "def inspect(X):\n"
                "    import numpy as np\n"
                "    return np.array([sum(linha) for linha in X])\n\n"
                "def soma_linhas(X):\n    return inspect(X)\n"
            ),
        },
        {
            "soma_linhas": (
                "def _aux(X):\n"
                "    import numpy as np\n"
                "    return np.array([sum(linha) for linha in X])\n\n"
                "def soma_linhas(X):\n    return _aux(X)\n"
            ),
        },
    ),
    "backward_morto": StateAttack(
        "the derivative written by hand (2x), with a backward() in code that never runs",
        {"derivada": "def derivada(x):\n    if False:\n        x.sum().backward()\n    return 2 * x\n"},
        {"derivada": DERIVADA_FORMULA},
    ),
    # 6. shipped reference functions are recognisable
    "reconhece_referencia": StateAttack(
        "the formula 2x, except when g_licao is not the lesson's object (a test swapped it): then autograd",
        {
            "derivada": (
                "_g_original = g_licao\n\n"
                "def derivada(x):\n"
                "    if g_licao is _g_original:\n"
                "        return 2 * x\n"
                "    u = x.detach().clone().requires_grad_(True)\n"
                "    g_licao(u).sum().backward()\n"
                "    return u.grad\n"
            ),
        },
        {"derivada": DERIVADA_CERTA},  # what it runs when it matters is the right answer
    ),
}
PATTERN_FUNCTIONS = ("soma_linhas", "atualiza", "derivada")
PATTERN_RIGHT = {"soma_linhas": SOMA_CERTA, "atualiza": ATUALIZA_CERTA, "derivada": DERIVADA_CERTA}


@dataclass
class PatternsGraded:
    scores: dict  # student id -> scores.json entry
    course: Path

    def outputs(self, student: str, grade_id: str) -> str:
        path = self.course / "autograded" / student / "padroes" / "padroes.ipynb"
        nb = nbformat.read(path, as_version=4)
        return json.dumps(cell_by_grade_id(nb, grade_id).get("outputs", []), ensure_ascii=False)


def _pattern_notebook(release, answers: dict[str, str]):
    nb = copy.deepcopy(release)
    for function, code in answers.items():
        cell_by_grade_id(nb, f"resposta_{function}").source = code
    return nb


@pytest.fixture(scope="module")
def graded_patterns(tmp_path_factory, sandbox_available) -> PatternsGraded:
    if not sandbox_available:
        pytest.skip("the attacks need the sandbox (bubblewrap)")
    root = tmp_path_factory.mktemp("padroes")
    settings = build_patterns_course(root, True)
    release = nbformat.read(settings.release_dir / "padroes" / "padroes.ipynb", as_version=4)
    subs = root / "submitted"
    write_notebook(subs / "certo" / "padroes" / "padroes.ipynb", _pattern_notebook(release, PATTERN_RIGHT))
    write_notebook(subs / "branco" / "padroes" / "padroes.ipynb", release)
    for attack, spec in STATE_ATTACKS.items():
        write_notebook(subs / attack / "padroes" / "padroes.ipynb", _pattern_notebook(release, spec.answers))
        write_notebook(
            subs / f"gemeo_{attack}" / "padroes" / "padroes.ipynb", _pattern_notebook(release, spec.twin)
        )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            "--course-dir",
            str(settings.course_dir),
            "grade",
            "padroes",
            "--submissions",
            str(subs),
            "--report-dir",
            str(root / "rel"),
            "--workers",
            "2",
            "--no-progress",
            "--no-similarity",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=settings.course_dir,
    )
    print(done.stdout[-4000:])
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    scores = json.loads((root / "rel" / "padroes" / "scores.json").read_text())
    return PatternsGraded({s["student_id"]: s for s in scores["students"]}, settings.course_dir)


@pytest.mark.parametrize("attack", list(STATE_ATTACKS))
def test_state_attack_earns_no_more_than_its_twin(graded_patterns: PatternsGraded, attack: str):
    student, twin = graded_patterns.scores[attack], graded_patterns.scores[f"gemeo_{attack}"]
    earned = {g for g, c in student["cells"].items() if c["passed"]}
    earned_by_twin = {g for g, c in twin["cells"].items() if c["passed"]}
    assert earned <= earned_by_twin, (
        f"{attack} earned {sorted(earned - earned_by_twin)} that its twin did not"
    )
    assert student["score"] <= twin["score"]
    assert "tampering" not in student["flags"] and not student.get("held_for_review")
    assert not any(c["needs_manual_grade"] for c in student["cells"].values())


def test_state_attacks_honest_students(graded_patterns: PatternsGraded):
    right, blank = graded_patterns.scores["certo"], graded_patterns.scores["branco"]
    assert right["score"] == right["max_score"] == 6.0, right["cells"]
    assert blank["score"] == 0.0
    # a function that does nothing earns nothing, anywhere
    assert graded_patterns.scores["faz_nada"]["score"] == 0.0
    # the tests ran on T's own objects: the emptied list and the widened set are still T's
    assert "deveria usar o autograd" in graded_patterns.outputs("nomes_de_teste", "derivada_autograd")
    assert "o notebook usa exec()" in graded_patterns.outputs("exec_depois_do_def", "soma_linhas_sem_laco")

"""The attack catalogue: malicious and broken submissions, graded together in one class through the command
line (`grader grade mini --submissions DIR`), each with the outcome it must get.

Every attacker is its own student of one class, next to honest students; the class is graded once, with
two workers, a short cell timeout and small limits, and the tests below read what that run left: scores.json,
the gradebook, autograded/, the feedback pages, and the machine itself. For each attack:
- it earns no more than the honest submission with the same answers, and no cell waits for a person: the
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
    "memoria_em_filhos": Attack(
        "wrong quadrado; then starts 4 processes that each hold 600 MB (each under MEMORY_MB, together over "
        "SUBMISSION_MEMORY_MB) and waits",
        1,
        limit="limite: memória da submissão",
        status=("error",),
    ),
    "chaveiro": Attack(
        "wrong quadrado; looks in the kernel keyring for a right quadrado left by a colleague graded before it "
        "in the same slot (and runs it), then leaves its own there for the next",
        1,
    ),
    # The forks fill the process limit and stay: what the kernel can still do after that (start a thread,
    # import torch) varies from run to run, so it may end graded or stuck (then interrupted: error).
    "bomba_fork": Attack("wrong quadrado; then `while True: os.fork()`", 1, status=("graded", "error")),
    "saida_enorme": Attack("wrong quadrado; prints 20 MB", 1),
    "enxurrada": Attack(
        "wrong quadrado; then sends 200 000 tiny display_data messages straight through the kernel's session "
        "(no display machinery: as fast as the socket takes them)",
        1,
        limit="limite: mensagens do kernel",
        status=("error",),
    ),
    "mensagem_gigante": Attack(
        "wrong quadrado; then sends one IOPub message of 120 frames that are one 8 MiB buffer (about 1 GB for "
        "whoever receives it, 8 MiB for the kernel)",
        1,
        limit="limite: mensagens do kernel",
        status=("error",),
    ),
    "metadados_gigantes": Attack(
        "wrong quadrado; shows 30 outputs with display ids, then updates each with 1.8 MB of metadata that is "
        "nested lists (about 70 MB each once parsed)",
        1,
    ),
    "estado_de_widget": Attack(
        "wrong quadrado; opens 30 comms whose state is 1.8 MB of nested lists (nbclient keeps every widget's "
        "state)",
        1,
    ),
    "erros_em_massa": Attack(
        "wrong quadrado; sends 90 error messages whose name is 1.2 MB of text with one emoji (4 bytes a "
        "character once parsed)",
        1,
    ),
    "exibicao_atualizada": Attack(
        "wrong quadrado; shows 30 tiny outputs with display ids, then updates each to 3 MB (nbclient rewrites "
        "an updated output outside the per-cell cap)",
        1,
    ),
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
    "saida_engole_erro": Attack(
        "dobro and quadrado return 0 and print 64 Ki invisible characters (10 each in the output cap's count): "
        "the test cell's output passes the cap, and what comes after it (the failure) must still count",
        0,
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
    "SUBMISSION_MEMORY_MB": 2048,
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
    "saida_engole_erro": {
        "resposta_dobro": 'print("ataque: saida_engole_erro")\n'
        "_RUIDO = '\\U000e0001' * 65536\n\n\ndef dobro(x):\n    print(_RUIDO)\n    return 0\n",
        "resposta_quadrado": "def quadrado(x):\n    print(_RUIDO)\n    return 0\n",
    },
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
    "memoria_em_filhos": _quadrado(
        "memoria_em_filhos",
        (
            "import subprocess, sys, time\n"
            'codigo = \'import time\\nb = bytes(1) * (600 * 2**20)\\nprint("cheio", flush=True)\\n'
            "time.sleep(60)'\n"
            "filhos = [subprocess.Popen([sys.executable, '-c', codigo]) for _ in range(4)]\n"
            "time.sleep(15)\n"
        ),
    ),
    "chaveiro": {
        "resposta_quadrado": (
            'print("ataque: chaveiro")\n' + WRONG_QUADRADO + "import ctypes, platform\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "libc.syscall.restype = ctypes.c_long\n"
            "ADD, REQUEST, KEYCTL = {'x86_64': (248, 249, 250), 'aarch64': (217, 218, 219)}[platform.machine()]\n"
            "chave = libc.syscall(REQUEST, b'user', b'gabarito', None, 0)\n"
            "print('CHAVEIRO leu', chave, ctypes.get_errno())\n"
            "if chave > 0:\n"
            "    texto = ctypes.create_string_buffer(4096)\n"
            "    n = libc.syscall(KEYCTL, 11, ctypes.c_long(chave), texto, 4096)  # KEYCTL_READ\n"
            "    exec(texto.raw[:n].decode())\n"
            "recado = b'def quadrado(x):\\n    return x * x\\n'\n"
            "ctypes.set_errno(0)\n"
            "print('CHAVEIRO gravou', libc.syscall(ADD, b'user', b'gabarito', recado, len(recado), -4), "
            "ctypes.get_errno())\n"
        )
    },
    "bomba_fork": {
        "resposta_quadrado": (
            'print("ataque: bomba_fork")\nimport os\n' + WRONG_QUADRADO + "while True:\n    os.fork()\n"
        )
    },
    "saida_enorme": _quadrado("saida_enorme", 'for _ in range(200):\n    print("x" * 100_000)\n'),
    "enxurrada": _quadrado(
        "enxurrada",
        (
            "nucleo = get_ipython().kernel\n"
            "for _ in range(200_000):\n"
            "    nucleo.session.send(nucleo.iopub_socket, 'display_data', {'data': {'text/plain': 'x'}, "
            "'metadata': {}}, parent=nucleo.get_parent())\n"
        ),
    ),
    "mensagem_gigante": _quadrado(
        "mensagem_gigante",
        (
            "nucleo = get_ipython().kernel\n"
            "bloco = memoryview(bytearray(8 * 2**20))\n"
            "nucleo.session.send(nucleo.iopub_socket, 'display_data', {'data': {'text/plain': 'x'}, "
            "'metadata': {}}, parent=nucleo.get_parent(), buffers=[bloco] * 120)\n"
            "import time\ntime.sleep(5)\n"
        ),
    ),
    "metadados_gigantes": _quadrado(
        "metadados_gigantes",
        (
            "from IPython.display import display, update_display\n"
            "aninhado = [[[0]]] * 200_000\n"
            "for i in range(30):\n"
            "    display({'text/plain': 'x'}, raw=True, display_id=f'm{i}')\n"
            "for i in range(30):\n"
            "    update_display({'text/plain': 'y'}, raw=True, display_id=f'm{i}', metadata={'m': aninhado})\n"
        ),
    ),
    "estado_de_widget": _quadrado(
        "estado_de_widget",
        (
            "from comm import create_comm\n"
            "aninhado = [[[0]]] * 200_000\n"
            "canais = [create_comm(target_name=f'w{i}', data={'state': {'s': aninhado}}) for i in range(30)]\n"
        ),
    ),
    "erros_em_massa": _quadrado(
        "erros_em_massa",
        (
            "nucleo = get_ipython().kernel\n"
            "nome = 'E' * (1200 * 1024) + '\\U0001F600'\n"
            "for _ in range(90):\n"
            "    nucleo.session.send(nucleo.iopub_socket, 'error', {'ename': nome, 'evalue': '', 'traceback': []}, "
            "parent=nucleo.get_parent())\n"
        ),
    ),
    "exibicao_atualizada": _quadrado(
        "exibicao_atualizada",
        (
            "from IPython.display import display, update_display\n"
            "for i in range(30):\n"
            "    display({'text/plain': 'x'}, raw=True, display_id=f'd{i}')\n"
            "texto = 'A' * (3 * 2**20)\n"
            "for i in range(30):\n"
            "    update_display({'text/plain': texto}, raw=True, display_id=f'd{i}')\n"
        ),
    ),
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
    grader_peak_mib: int  # the grader process's own peak resident memory

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


def _run_watching_memory(command: list[str], **kwargs) -> tuple[subprocess.CompletedProcess, int]:
    """subprocess.run(command, capture_output=True, text=True), and the process's peak resident memory (VmHWM,
    read while it runs: the last reading before it exits), in MiB."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, text=True, **kwargs)
        peak, deadline = 0, time.monotonic() + 900
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) // 1024)
            except OSError:
                pass
            time.sleep(0.2)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(command, proc.returncode, out.read(), err.read()), peak


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
    done, grader_peak = _run_watching_memory(
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
        env=env,
        cwd=ctx.course,
    )
    seconds = time.monotonic() - started
    print(f"grading {len(ATTACKS) + 3} submissions took {seconds:.0f} s")
    print(done.stdout[-6000:])
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    scores = json.loads((ctx.reports / "mini" / "scores.json").read_text())
    yield Graded(
        ctx,
        {s["student_id"]: s for s in scores["students"]},
        done,
        seconds,
        listener,
        before,
        subs_digest,
        grader_peak,
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


def _check_memory_in_children(g: Graded) -> None:
    # stopped by the guard (grader/kernels/guard.py) in the cell that started them, before the tests after it
    assert "passou do limite de memória" in g.outputs("memoria_em_filhos", "resposta_quadrado")
    assert "não executada" in g.outputs("memoria_em_filhos", "quadrado_valores")


def _check_keyring(g: Graded) -> None:
    out = g.outputs("chaveiro", "resposta_quadrado")
    assert "CHAVEIRO leu -1 1" in out and "CHAVEIRO gravou -1 1" in out, out  # EPERM: neither call is allowed


def _check_output(g: Graded) -> None:
    path = g.ctx.course / "autograded" / "saida_enorme" / "mini" / "mini.ipynb"
    assert path.stat().st_size < 1024 * 1024
    assert "saída truncada" in g.outputs("saida_enorme", "resposta_quadrado")


def _check_flood(g: Graded) -> None:
    # stopped by its relay (grader/kernels/standalone/relay.py) in the cell that floods, before the tests after it
    assert "mais de 50.000 mensagens" in g.outputs("enxurrada", "resposta_quadrado")
    assert "não executada" in g.outputs("enxurrada", "quadrado_valores")


def _check_giant_message(g: Graded) -> None:
    out = g.outputs("mensagem_gigante", "resposta_quadrado")
    assert "o kernel do aluno mandou uma mensagem" in out, out
    assert "não executada" in g.outputs("mensagem_gigante", "quadrado_valores")


def _check_small_notebook(g: Graded) -> None:
    """What the kernel sent beside its cells' output (metadata, widget state, error messages) is not kept: the
    graded notebook stays small (and the grader's memory: test_the_graders_own_memory_stays_bounded)."""
    for attack in ("metadados_gigantes", "estado_de_widget", "erros_em_massa"):
        path = g.ctx.course / "autograded" / attack / "mini" / "mini.ipynb"
        assert path.stat().st_size < 1024 * 1024, (attack, path.stat().st_size)
    errors = [
        o for o in json.loads(g.outputs("erros_em_massa", "resposta_quadrado")) if o["output_type"] == "error"
    ]
    assert errors and all(len(o["ename"]) == 200 for o in errors)  # cut, and kept only within the cell's cap
    assert len(json.dumps(errors)) < 2 * LIMITS["MAX_OUTPUT_KB"] * 1024


def _check_updated_display(g: Graded) -> None:
    path = g.ctx.course / "autograded" / "exibicao_atualizada" / "mini" / "mini.ipynb"
    assert path.stat().st_size < 1024 * 1024
    assert "saída truncada" in g.outputs("exibicao_atualizada", "resposta_quadrado")


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
    "memoria_em_filhos": _check_memory_in_children,
    "chaveiro": _check_keyring,
    "saida_enorme": _check_output,
    "enxurrada": _check_flood,
    "mensagem_gigante": _check_giant_message,
    "exibicao_atualizada": _check_updated_display,
    "metadados_gigantes": _check_small_notebook,
    "estado_de_widget": _check_small_notebook,
    "erros_em_massa": _check_small_notebook,
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


def test_the_graders_own_memory_stays_bounded(graded: Graded):
    """What the students' kernels send is received by their relays, not by the grader, and the grader keeps
    only what fits the output cap: before them, the 1 GB message of mensagem_gigante (2456 MiB of the
    grader's, measured), exibicao_atualizada's 90 MB of updates, and the nested lists of metadados_gigantes and
    estado_de_widget (about 2 GB each once parsed) were the grader's memory. An honest batch peaks at about 280
    MiB."""
    print(f"the grader's peak resident memory: {graded.grader_peak_mib} MiB")
    assert 0 < graded.grader_peak_mib < 450


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
# Found by a red-team session given only the code and the README (its own words in "does"). Keys of answers and
# twins: an answer cell's function; "+<function>": a cell the student adds after that answer cell; "@<grade_id>":
# that cell's nbgrader metadata replaced (written as raw JSON: nbformat would refuse to validate it).
RT_SOMA_COM_LACO = (
    "def soma_linhas(X):\n    import numpy as np\n    return np.array([sum(linha) for linha in X])\n"
)
# the loop version under another name, and a loop-free decoy: the last plain `def soma_linhas` of the text
RT_LACO = (
    "def _soma_com_laco(X):\n    import numpy as np\n    return np.array([sum(linha) for linha in X])\n\n\n"
)
RT_ISCA = "def soma_linhas(X):\n    return X.sum(axis=1)\n\n\n"
RT_ATUALIZA_DOIS = "def atualiza(C, A, B):\n    D = A @ B.T\n    C[:] = C + D\n"

RT_RUIDO = "_RUIDO = '\\U000e0001' * 65536  # 64 Ki invisible characters; repr() writes each as 10\n\n\n"
RT_SOMA_CERTA = "def soma_linhas(X):\n    return X.sum(axis=1)\n"

REDTEAM: dict[str, dict] = {
    # --- the output cap of a test cell (grader/kernels/execute.py, _Client.output) --------------------------
    "saida_que_engole_o_erro": {
        "does": (
            "every function does nothing useful (zeros, no update) but prints 64 Ki copies of U+E0001 when a test "
            "calls it: the test kernel writes that stdout into the test cell, whose output passes MAX_OUTPUT_KB "
            "(the cap measures len(str(content)), 10 characters per such code point); every later message of the "
            "cell is dropped, the AssertionError's `error` output included, so nbgrader sees a cell without "
            "error: full points on all six test cells"
        ),
        "answers": {
            "soma_linhas": RT_RUIDO
            + "def soma_linhas(X):\n    print(_RUIDO)\n    return X.sum(axis=1) * 0\n",
            "atualiza": "def atualiza(C, A, B):\n    print(_RUIDO)\n",
            "derivada": "def derivada(x):\n    print(_RUIDO)\n    return x * 0\n",
        },
        "twin": {
            "soma_linhas": "def soma_linhas(X):\n    return X.sum(axis=1) * 0\n",
            "atualiza": "def atualiza(C, A, B):\n    pass\n",
            "derivada": "def derivada(x):\n    return x * 0\n",
        },
    },
    "saida_que_engole_o_erro_mini": {
        "course": "mini",
        "does": "the same on the mini course: dobro and quadrado return 0 and print the noise; 3 of 3 automatic points",
        "answers": {
            "dobro": RT_RUIDO + "def dobro(x):\n    print(_RUIDO)\n    return 0\n",
            "quadrado": "def quadrado(x):\n    print(_RUIDO)\n    return 0\n",
        },
        "twin": {"dobro": "def dobro(x):\n    return 0\n", "quadrado": "def quadrado(x):\n    return 0\n"},
    },
    # --- the memory measure (grader/kernels/meter.py, runtime.py's _Meter) ------------------------------------
    "zera_o_proprio_pico": {
        "does": (
            "atualiza with two buffers of C's size; after freeing them it writes '5' to its own "
            "/proc/self/clear_refs, which resets VmHWM, the very number the grader's meter reads from outside"
        ),
        "answers": {
            "atualiza": (
                "import os\n\n\n"
                "def _esquece_o_pico():\n"
                "    with open(os.path.join('/', 'proc', 'self', 'clear_refs'), 'w') as f:\n"
                "        f.write('5')\n\n\n"
                "def atualiza(C, A, B):\n"
                "    D = A @ B.T\n"
                "    C[:] = C + D\n"
                "    del D\n"
                "    _esquece_o_pico()\n"
            )
        },
        "twin": {"atualiza": RT_ATUALIZA_DOIS},
    },
    "lastro_devolvido": {
        "does": (
            "atualiza with two buffers of C's size, plus a 160 MiB ballast tensor kept alive between calls: the "
            "call frees the ballast first (munmap: the process's RSS drops below the baseline the meter took at "
            "its reset), allocates, and re-creates the ballast before returning; peak - baseline stays at the "
            "argument's bytes, which are subtracted. No /proc, no introspection, nothing the audit names"
        ),
        "answers": {
            "atualiza": (
                "import torch\n\n"
                "_lastro = [torch.ones(40 * 2**20)]  # 160 MiB, tocados\n\n\n"
                "def atualiza(C, A, B):\n"
                "    _lastro.clear()\n"
                "    D = A @ B.T\n"
                "    C[:] = C + D\n"
                "    del D\n"
                "    _lastro.append(torch.ones(40 * 2**20))\n"
            )
        },
        "twin": {"atualiza": RT_ATUALIZA_DOIS},
    },
    # --- the source read from the notebook's text (grader/kernels/standalone/inkernel/source.py) ---------------
    "walrus_na_compreensao": {
        "does": (
            "a loop-free decoy as the last plain def, the loop version bound to soma_linhas by an assignment "
            "expression inside a list comprehension (which binds in the module's scope: source._bound skips "
            "comprehensions, dynamic_construct has no rule for it)"
        ),
        "answers": {"soma_linhas": RT_LACO + RT_ISCA + "_ = [soma_linhas := _soma_com_laco for _ in (0,)]\n"},
        "twin": {"soma_linhas": RT_SOMA_COM_LACO},
    },
    "magia_time": {
        "does": (
            "a loop-free decoy as the last plain def, then the line magic `%time soma_linhas = _soma_com_laco`: "
            "IPython turns it into run_line_magic('time', '<the assignment as a string>'), and 'time' is not in "
            "source._DYNAMIC_MAGICS"
        ),
        "answers": {"soma_linhas": RT_LACO + RT_ISCA + "%time soma_linhas = _soma_com_laco\n"},
        "twin": {"soma_linhas": RT_SOMA_COM_LACO},
    },
    "magia_de_celula": {
        "does": (
            "the answer cell is the loop-free version; an added cell after it 'times' a loop version with "
            "%%time (the def is inside run_cell_magic's string argument): what runs is the loop"
        ),
        "answers": {"soma_linhas": RT_ISCA, "+soma_linhas": "%%time\n" + RT_SOMA_COM_LACO},
        "twin": {"soma_linhas": RT_SOMA_COM_LACO},
    },
    "importa_estrela": {
        "does": (
            "writes a module with the loop version into its working copy and rebinds soma_linhas with "
            "`from ajuda_soma import *` after a loop-free decoy def (source._bound skips `*` imports)"
        ),
        "answers": {
            "soma_linhas": (
                "with open('ajuda_soma.py', 'w') as f:\n"
                "    f.write('import numpy as np\\n\\n\\ndef soma_linhas(X):\\n'\n"
                "            '    return np.array([sum(linha) for linha in X])\\n')\n\n\n"
                + RT_ISCA
                + "from ajuda_soma import *\n"
            )
        },
        "twin": {"soma_linhas": RT_SOMA_COM_LACO},
    },
    "cprofile_run": {
        "does": (
            "a loop-free decoy as the last plain def, then cProfile.run('soma_linhas = _soma_com_laco'): "
            "profile.run executes its string in __main__.__dict__, IPython's user namespace"
        ),
        "answers": {
            "soma_linhas": "import cProfile\n\n\n"
            + RT_LACO
            + RT_ISCA
            + "cProfile.run('soma_linhas = _soma_com_laco')\n"
        },
        "twin": {"soma_linhas": RT_SOMA_COM_LACO},
    },
    "ipython_push": {
        "does": (
            "a loop-free decoy as the last plain def, then IPython.get_ipython().push({...}): get_ipython called "
            "as an attribute is not the Name call dynamic_construct looks for, and push is not a listed attribute"
        ),
        "answers": {
            "soma_linhas": "import IPython\n\n\n"
            + RT_LACO
            + RT_ISCA
            + "IPython.get_ipython().push({'soma_linhas': _soma_com_laco})\n"
        },
        "twin": {"soma_linhas": RT_SOMA_COM_LACO},
    },
    "prompt_do_ipython": {
        "does": (
            "a loop-free decoy as the last plain def; the first line `In [1]: _versao = 1` and the last line "
            "`In [2]: soma_linhas = _soma_com_laco` are valid Python as written (annotated assignments to In[1], "
            "In[2]: soma_linhas is only read, as an annotation), so source.parse_cell keeps the raw text; IPython "
            "strips its own prompts before running the cell, and the student's kernel runs `soma_linhas = "
            "_soma_com_laco`"
        ),
        "answers": {
            "soma_linhas": "In [1]: _versao = 1\n"
            + RT_LACO
            + RT_ISCA
            + "In [2]: soma_linhas = _soma_com_laco\n"
        },
        "twin": {"soma_linhas": RT_SOMA_COM_LACO},
    },
    "excecao_antes_da_isca": {
        "does": (
            "the loop version, then `_ = 1 / 0`, then a loop-free decoy def in the same cell: the student's kernel "
            "stops at the error and keeps the loop version; the test kernel reads every statement of the text, as "
            "if the whole cell had run"
        ),
        "answers": {
            "soma_linhas": RT_SOMA_COM_LACO + "\n\n_ = 1 / 0  # o resto da célula nunca roda\n\n\n" + RT_ISCA
        },
        "twin": {"soma_linhas": RT_SOMA_COM_LACO},
    },
    "excecao_silenciosa": {
        "does": (
            "the same, with an IPython custom exception handler for ZeroDivisionError: the cell stops without "
            "any error output (a fix that only distrusts cells with an error output still reads the decoy)"
        ),
        "answers": {
            "soma_linhas": (
                "import IPython\n\n"
                "IPython.get_ipython().set_custom_exc((ZeroDivisionError,), lambda *a, **k: None)\n\n\n"
                + RT_SOMA_COM_LACO
                + "\n\n_ = 1 / 0\n\n\n"
                + RT_ISCA
            )
        },
        "twin": {"soma_linhas": RT_SOMA_COM_LACO},
    },
    "derivada_numerica": {
        "does": (
            "derivada by finite differences (no autograd), a decoy plain def that calls backward(), and "
            "pkgutil.resolve_name('__main__').derivada = _derivada_numerica (the user module as an object, an "
            "attribute assignment: nothing source.py or the audit names): derivada_autograd's accepted-calls "
            "check reads the decoy; the values (also with g_licao swapped) are right"
        ),
        "answers": {
            "derivada": (
                "import pkgutil\n\n\n"
                "def derivada(x):\n"
                "    u = x.detach().clone().requires_grad_(True)\n"
                "    g_licao(u).sum().backward()\n"
                "    return u.grad\n\n\n"
                "def _derivada_numerica(x):\n"
                "    h = 1e-6\n"
                "    x64 = x.detach().double()\n"
                "    return ((g_licao(x64 + h) - g_licao(x64 - h)) / (2 * h)).to(x.dtype)\n\n\n"
                "pkgutil.resolve_name('__main__').derivada = _derivada_numerica\n"
            )
        },
        "twin": {
            "derivada": (
                "def derivada(x):\n"
                "    h = 1e-6\n"
                "    x64 = x.detach().double()\n"
                "    return ((g_licao(x64 + h) - g_licao(x64 - h)) / (2 * h)).to(x.dtype)\n"
            )
        },
    },
    # --- the structure check of the test cell itself (tests/helpers.py PATTERNS_CHECK_HELPERS) ---------------
    "auxiliar_por_alias": {
        "does": (
            "the loop in a helper that soma_linhas first binds to a local name: _arvores_teste follows only names "
            "that are called and are not local, so the helper is never read (a weakness of the test's check, not "
            "of the grader)"
        ),
        "answers": {
            "soma_linhas": RT_LACO
            + "def soma_linhas(X):\n    somador = _soma_com_laco\n    return somador(X)\n"
        },
        "twin": {"soma_linhas": RT_LACO + "def soma_linhas(X):\n    return _soma_com_laco(X)\n"},
    },
    # --- the whole class is not graded (grader/intake/normalize.py, grader/grading/tamper.py) ----------------
    "metadados_lista": {
        "crashes_batch": True,
        "does": (
            "a right soma_linhas in an answer cell whose metadata.nbgrader is a JSON list: nbformat.reads only logs "
            "the schema error, normalize's nbgrader_meta(cell).get raises AttributeError outside any handler, and "
            "`grader grade` aborts before grading anyone (no scores.json, no gradebook entry, for every student)"
        ),
        "answers": {"soma_linhas": RT_SOMA_CERTA, "@resposta_soma_linhas": ["x"]},
        "twin": {"soma_linhas": RT_SOMA_CERTA},
    },
    "arvore_funda": {
        "crashes_batch": True,
        "does": (
            "a right soma_linhas plus an added cell with a 3000-term sum: the audit's ast.parse raises "
            "RecursionError (not caught: it catches SyntaxError and ValueError) while the jobs are prepared, and "
            "`grader grade` aborts for the whole class"
        ),
        "answers": {"soma_linhas": RT_SOMA_CERTA, "+soma_linhas": "_x = 1" + " + 1" * 3000 + "\n"},
        "twin": {"soma_linhas": RT_SOMA_CERTA},
    },
}
STATE_ATTACKS.update(
    {
        name: StateAttack(spec["does"], spec["answers"], spec["twin"])
        for name, spec in REDTEAM.items()
        if spec.get("course", "padroes") == "padroes"
    }
)
# A second red-team round, against the fixes of the first: what still earned points (the entries for the real
# course are checked by its answer catalogue and test_filling_the_inputs_earns_nothing_on_the_real_course), and
# right answers the defences of the first round had rejected (they must earn full marks).
# --- shared pieces -----------------------------------------------------------------------------------------
RT2_SOMA_COM_LACO = (
    "def soma_linhas(X):\n    import numpy as np\n    return np.array([sum(linha) for linha in X])\n"
)
# the loop version under another name (it prints, so the executed notebook shows which code ran)
RT2_LACO = (
    "def _soma_com_laco(X):\n"
    "    import numpy as np\n"
    "    print('RT2_LACO RODOU')\n"
    "    return np.array([sum(linha) for linha in X])\n\n\n"
)
RT2_SOMA_CERTA = "def soma_linhas(X):\n    return X.sum(axis=1)\n"
RT2_ATUALIZA_CERTA = "def atualiza(C, A, B):\n    C.add_(A @ B.T)\n"
RT2_ATUALIZA_DOIS = "def atualiza(C, A, B):\n    D = A @ B.T\n    C[:] = C + D\n"
RT2_DERIVADA_CERTA = (
    "def derivada(x):\n"
    "    u = x.detach().clone().requires_grad_(True)\n"
    "    g_licao(u).sum().backward()\n"
    "    return u.grad\n"
)
RT2_DERIVADA_NUMERICA = (
    "def derivada(x):\n"
    "    h = 1e-6\n"
    "    x64 = x.detach().double()\n"
    "    return ((g_licao(x64 + h) - g_licao(x64 - h)) / (2 * h)).to(x.dtype)\n"
)
RT2_RIGHT = {"soma_linhas": RT2_SOMA_CERTA, "atualiza": RT2_ATUALIZA_CERTA, "derivada": RT2_DERIVADA_CERTA}

# The student's kernel's agent, reached without any construct source.dynamic_construct or the audit names:
# `logging` imports `threading`; the agent's thread keeps its bound method `serve` in `_target`.
RT2_AGENTE = (
    "import logging\n\n\n"
    "class _Nomes:\n"
    '    """O dicionário de nomes do agente: chamadas e buscas veem as trocas; a impressão digital, o texto."""\n'
    "    def __init__(self, reais, trocas):\n"
    "        self.reais, self.trocas = reais, trocas\n"
    "    def get(self, nome, *padrao):\n"
    "        if padrao and nome in self.trocas:\n"
    "            return self.reais[self.trocas[nome]]\n"
    "        return self.reais.get(nome, *padrao)\n"
    "    def update(self, *a, **k):\n"
    "        return self.reais.update(*a, **k)\n"
    "    def pop(self, *a):\n"
    "        return self.reais.pop(*a)\n"
    "    def __setitem__(self, nome, valor):\n"
    "        self.reais[nome] = valor\n\n\n"
    "_trocas = {}\n"
    "for _t in logging.threading.enumerate():\n"
    "    if _t.name == 'corretor-agente':\n"
    "        _agente = _t._target.__self__\n"
    "        _agente.ns = _Nomes(_agente.ns, _trocas)\n\n\n"
)

REDTEAM2: dict[str, dict] = {
    # --- the fingerprint of the code the student's kernel runs (runtime.py _check_runs, wire.code_fingerprint) ---
    "agente_pela_thread": {
        "does": (
            "reaches its kernel's agent as logging.threading.enumerate() -> the 'corretor-agente' thread -> "
            "_target.__self__ (no import of threading or gc, no getattr, nothing dynamic_construct or the audit "
            "names) and gives it a namespace whose get(name, default) -- what `call`, `get` and `resolve` use -- "
            "returns the loop version / the finite-difference version, while get(name) -- what the `code` request "
            "uses for the fingerprint -- returns the plain def the text shows. The decoy defs are WRONG (sum of "
            "everything; backward on a tensor without grad): the student needs no right answer, only a "
            "loop-free text and an autograd-looking text. soma_linhas_sem_laco and derivada_autograd pass "
            "(the executed notebook shows 'RT2_LACO RODOU' and 'DIFERENCAS FINITAS' in those test cells); no flag"
        ),
        "answers": {
            "soma_linhas": RT2_AGENTE
            + RT2_LACO
            + "def soma_linhas(X):\n    return X.sum()  # errada: soma tudo\n\n\n"
            + "_trocas['soma_linhas'] = '_soma_com_laco'\n",
            "atualiza": RT2_ATUALIZA_CERTA,
            "derivada": (
                "def _derivada_numerica(x):\n"
                "    print('DIFERENCAS FINITAS')\n"
                "    h = 1e-6\n"
                "    x64 = x.detach().double()\n"
                "    return ((g_licao(x64 + h) - g_licao(x64 - h)) / (2 * h)).to(x.dtype)\n\n\n"
                "def derivada(x):\n"
                "    x.sum().backward()  # errada: x não pede gradiente\n"
                "    return x.grad\n\n\n"
                "_trocas['derivada'] = '_derivada_numerica'\n"
            ),
        },
        "twin": {
            "soma_linhas": RT2_SOMA_COM_LACO,
            "atualiza": RT2_ATUALIZA_CERTA,
            "derivada": RT2_DERIVADA_NUMERICA,
        },
    },
    "kwdefaults_update": {
        "does": (
            "the fingerprint covers the code, not the defaults: soma_linhas's text takes `*, _como=None` and "
            "sums everything (wrong) when _como is None; `soma_linhas.__kwdefaults__.update(_como=_soma_com_laco)` "
            "sets the default to the loop version. __kwdefaults__ is only looked for as an assignment target "
            "(source._REBINDING_ATTRIBUTES), not in _DYNAMIC_ATTRIBUTES; the test's check does not follow _como "
            "(a keyword-only argument unknown to the notebook's names)"
        ),
        "answers": {
            "soma_linhas": RT2_LACO + "def soma_linhas(X, *, _como=None):\n"
            "    if _como is None:\n"
            "        return X.sum()  # errada\n"
            "    return _como(X)\n\n\n"
            "soma_linhas.__kwdefaults__.update(_como=_soma_com_laco)\n"
        },
        "twin": {"soma_linhas": RT2_SOMA_COM_LACO},
    },
    "setattr_metodo": {
        "does": (
            "the same with positional defaults: `soma_linhas.__setattr__('__defaults__', (_soma_com_laco,))` -- "
            "the method, not the builtin setattr() that dynamic_construct looks for, and no assignment target"
        ),
        "answers": {
            "soma_linhas": RT2_LACO + "def soma_linhas(X, _como=None):\n"
            "    if _como is None:\n"
            "        return X.sum()  # errada\n"
            "    return _como(X)\n\n\n"
            "soma_linhas.__setattr__('__defaults__', (_soma_com_laco,))\n"
        },
        "twin": {"soma_linhas": RT2_SOMA_COM_LACO},
    },
    "getattr_constante": {
        "does": (
            "getattr with a CONSTANT name is let through by dynamic_construct, even for '__globals__' and "
            "'__code__' (which it refuses as attributes). soma_linhas is rebound, through its own globals dict, to "
            "a function with the SAME code object (same fingerprint) and other globals, where the helper _soma it "
            "calls is the loop version; T follows _soma by the text (a wrong, loop-free def) and S's _soma is "
            "still that def, so its fingerprint matches too"
        ),
        "answers": {
            "soma_linhas": RT2_LACO + "def _soma(X):\n    return X.sum()  # errada\n\n\n"
            "def soma_linhas(X):\n    return _soma(X)\n\n\n"
            "_globais = getattr(soma_linhas, '__globals__')\n"
            "_globais['soma_linhas'] = type(soma_linhas)(getattr(soma_linhas, '__code__'), "
            "dict(_globais, _soma=_soma_com_laco))\n"
        },
        "twin": {"soma_linhas": RT2_SOMA_COM_LACO},
    },
    "magia_time_exec": {
        "does": (
            "the statement of a %time line magic is parsed for the names it binds, but never scanned for dynamic "
            'constructs: `%time exec("...")` runs exec with globals() and __code__ inside a string; the same '
            "same-code-other-globals rebinding as getattr_constante. No audit flag either (exec inside a string)"
        ),
        "answers": {
            "soma_linhas": RT2_LACO + "def _soma(X):\n    return X.sum()  # errada\n\n\n"
            "def soma_linhas(X):\n    return _soma(X)\n\n\n"
            "%time exec(\"soma_linhas = type(soma_linhas)(soma_linhas.__code__, {**globals(), '_soma': _soma_com_laco})\")\n"
        },
        "twin": {"soma_linhas": RT2_SOMA_COM_LACO},
    },
    "magia_aninhada": {
        "does": (
            "the first round's fix for %%time cells (source._cell_magic_body) reads ONE cell magic: an added cell "
            "`%%capture` + `%%time` + code has a body that is IPython syntax, not Python, so T parses nothing of it "
            "(no binding, no dynamic construct: 'capture' is a code magic) while S runs it; it does the "
            "same-code-other-globals rebinding of getattr_constante with globals() and __code__ in plain sight"
        ),
        "answers": {
            "soma_linhas": RT2_LACO + "def _soma(X):\n    return X.sum()  # errada\n\n\n"
            "def soma_linhas(X):\n    return _soma(X)\n",
            "+soma_linhas": "%%capture\n%%time\n"
            "soma_linhas = type(soma_linhas)(soma_linhas.__code__, {**globals(), '_soma': _soma_com_laco})\n",
        },
        "twin": {"soma_linhas": RT2_SOMA_COM_LACO},
    },
    "numpy_trocado": {
        "does": (
            "the code read is the code that runs, but the library function it calls is not: soma_linhas is "
            "`return np.sum(X, axis=1)`, and the cell sets `_np.sum = _soma_com_laco` through an alias of numpy "
            "(not a construct dynamic_construct looks for; the audit's 'altera biblioteca' only sees `np.` / "
            "`numpy.` roots). The check skips numpy's names, so the loop is never read"
        ),
        "answers": {
            "soma_linhas": "import numpy as np\n\n_np = np\n\n\n"
            "def _soma_com_laco(X, axis=None):\n"
            "    print('RT2_LACO RODOU')\n"
            "    return _np.array([sum(linha) for linha in X])\n\n\n"
            "def soma_linhas(X):\n    return np.sum(X, axis=1)\n\n\n"
            "_np.sum = _soma_com_laco\n"
        },
        "twin": {"soma_linhas": RT2_SOMA_COM_LACO},
    },
    # --- the memory measured from outside (grader/kernels/meter.py, runtime.py _Meter, zygote.py) --------------
    "thp_lastro": {
        "does": (
            "atualiza with two buffers of C's size. PR_SET_THP_DISABLE, which the zygote sets so that 'a fault "
            "counts 4 KiB', is not irrevocable: the kernel clears it with prctl(41, 0) (ctypes reached as "
            "np.ctypeslib.ctypes: no `import ctypes` for dynamic_construct or the audit), then allocates both "
            "buffers in MAP_PRIVATE mappings advised MADV_HUGEPAGE: 72 MiB in ~40 faults (the executed probe "
            "showed AnonHugePages 73728 kB and +122 faults during the call). The peak is kept down as "
            "lastro_devolvido did (a 96 MiB ballast touched before the call is freed first): both measures, peak "
            "growth and faulted bytes, are below the payload the meter subtracts"
        ),
        "answers": {
            "soma_linhas": RT2_SOMA_CERTA,
            "atualiza": (
                "import mmap\n\nimport numpy as np\nimport torch\n\n"
                "np.ctypeslib.ctypes.CDLL(None).prctl(41, 0, 0, 0, 0)  # PR_SET_THP_DISABLE = 0: páginas enormes de novo\n\n"
                "_lastro = [torch.ones(24 * 2**20)]  # 96 MiB, tocados antes da medida\n\n\n"
                "def _enorme(n, m):\n"
                '    """Um tensor n×m float32 sobre páginas de 2 MiB: uma falta de página a cada 2 MiB."""\n'
                "    mapa = mmap.mmap(-1, n * m * 4 + (4 << 20), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)\n"
                "    mapa.madvise(mmap.MADV_HUGEPAGE)\n"
                "    return torch.frombuffer(mapa, dtype=torch.float32, count=n * m).view(n, m)\n\n\n"
                "def atualiza(C, A, B):\n"
                "    if C.numel() < 2**20:\n"
                "        D = A @ B.T\n"
                "        C[:] = C + D\n"
                "        return\n"
                "    _lastro.clear()  # devolve 96 MiB que o processo já tinha: o pico não passa da base\n"
                "    D, E = _enorme(*C.shape), _enorme(*C.shape)  # dois buffers do tamanho de C\n"
                "    torch.matmul(A, B.T, out=D)\n"
                "    torch.add(C, D, out=E)\n"
                "    C.copy_(E)\n"
            ),
            "derivada": RT2_DERIVADA_CERTA,
        },
        "twin": {
            "soma_linhas": RT2_SOMA_CERTA,
            "atualiza": RT2_ATUALIZA_DOIS,
            "derivada": RT2_DERIVADA_CERTA,
        },
    },
    "desconto_do_pedido": {
        "does": (
            "the measure subtracts the largest payload T sent (`sent`), trusting that S decodes it into fresh "
            "memory. The cell reaches the agent (as agente_pela_thread) and its wire module "
            "(inspect.getmodule(type(agent.caps)): inspect is not a dynamic module) and swaps wire.recv_frame for "
            "one that receives large requests into a 48 MiB bytearray touched beforehand: the 36 MiB argument "
            "costs nothing, the meter still subtracts 36 MiB, and the plain two-buffer atualiza (the twin's code, "
            "unchanged) measures 1.0x instead of 2.0x"
        ),
        "answers": {
            "soma_linhas": RT2_SOMA_CERTA,
            "atualiza": (
                "import inspect\nimport logging\n\n"
                "_agente = next(t for t in logging.threading.enumerate() if t.name == 'corretor-agente')._target.__self__\n"
                "_wire = inspect.getmodule(type(_agente.caps))  # o módulo do canal, sem sys.modules nem importlib\n"
                "_caixa = bytearray(b'\\1' * (48 << 20))  # 48 MiB tocados agora, antes de qualquer medida\n\n\n"
                "def _recebe(sock, max_bytes, deadline=None):\n"
                '    """Os pedidos grandes chegam na caixa já tocada: 0 bytes novos, e o corretor desconta o pedido."""\n'
                "    cabeca = bytearray(_wire.FRAME.size)\n"
                "    _wire._read_into(sock, memoryview(cabeca), deadline)\n"
                "    tamanho, pedido = _wire.FRAME.unpack(cabeca)\n"
                "    if tamanho < (1 << 20) or tamanho > len(_caixa):\n"
                "        corpo = bytearray(tamanho)\n"
                "        _wire._read_into(sock, memoryview(corpo), deadline)\n"
                "        return pedido, corpo\n"
                "    corpo = memoryview(_caixa)[:tamanho]\n"
                "    _wire._read_into(sock, corpo, deadline)\n"
                "    return pedido, corpo\n\n\n"
                "_wire.recv_frame = _recebe\n\n\n"
            )
            + RT2_ATUALIZA_DOIS,
            "derivada": RT2_DERIVADA_CERTA,
        },
        "twin": {
            "soma_linhas": RT2_SOMA_CERTA,
            "atualiza": RT2_ATUALIZA_DOIS,
            "derivada": RT2_DERIVADA_CERTA,
        },
    },
    # --- the repository's own course ----------------------------------------------------------------------------
    "memoria_nao_medida_no_curso_real": {
        "course": "programacao_diferenciavel",
        "expected_failures": ["update_c_memoria"],
        "does": (
            "not a trick: the catalogue's own wrong answer update_c_temporario (C[:] = D + C, a temporary of C's "
            "size at every iteration; tests/catalogue/programacao_diferenciavel.py says it must fail "
            "update_c_memoria). The first round renamed the measure's mark to @_medida_externa (runtime.py "
            "MEASURE_MARK) but source/programacao_diferenciavel still marks its measure @_no_kernel_do_aluno: the "
            "test's profiler now runs in T around a call made in S and sees no allocation at all, so every "
            "update_c with the right values gets the 2 memory points (graded: certo 46/48, this 46/48, a "
            "three-buffer version 46/48; update_c_memoria passed for all three)"
        ),
        "answers": {
            "update_c": (
                "def update_c(C, A, B, n_iter=2):\n"
                "    D = torch.mm(A, B.t())\n"
                "    for _ in range(n_iter):\n"
                "        C[:] = D + C\n"
            )
        },
        "twin": {},  # the solution: the same 46/48
    },
    "le_teste_oculto": {
        "course": "grafo_computacional",
        "reads_hidden": True,
        "does": (
            "the functions a test swaps in with _referencias travel to S as code (marshal) with their globals, "
            "hidden ones included: descida_gradiente raises, when J_func is none of the names the visible test "
            "uses, an error naming the swapped function and its code's names; the student's feedback page "
            "(feedback/<id>.html) then reads 'RuntimeError: J oculta: _J_logcosh usa ('torch', 'log', 'cosh', "
            "'sum') ('w', 'x', 'y') ()' -- the hidden test's J = log(cosh(x·w − y)).sum(). The failure-message "
            "filter only hides messages quoting a hidden line verbatim. Costs that one cell (43/51 vs 44/51)"
        ),
        "answers": {
            "descida_gradiente": (
                "def descida_gradiente(w0, x, y, lr=0.01, iteracoes=20, usar_autograd=True):\n"
                '    """Descida do gradiente em J a partir de w0; devolve (ws, Js), listas de iteracoes + 1 floats.\n\n'
                "    usar_autograd=True: gradiente por J_func(...).backward(); False: por dJ_diferencas_finitas.\n"
                '    """\n'
                '    if J_func.__name__ not in ("J_func", "_J_referencia"):  # uma J que só os testes ocultos usam\n'
                '        codigo = getattr(J_func, "__code__")\n'
                '        raise RuntimeError(f"J oculta: {J_func.__name__} usa {codigo.co_names} {codigo.co_varnames} '
                '{codigo.co_consts[1:]}")\n'
                "    w = torch.tensor(float(w0), dtype=x.dtype, device=x.device, requires_grad=usar_autograd)\n"
                "    ws, Js = [], []\n"
                "    for passo in range(iteracoes + 1):\n"
                "        J = J_func(w, x, y)\n"
                "        ws.append(w.item())\n"
                "        Js.append(J.item())\n"
                "        if passo == iteracoes:\n"
                "            break\n"
                "        if usar_autograd:\n"
                "            J.backward()\n"
                "            gradiente = w.grad.item()\n"
                "            w.grad = None  # sem isso, o próximo backward somaria ao gradiente deste passo\n"
                "        else:\n"
                "            gradiente = dJ_diferencas_finitas(w.item(), x, y)\n"
                "        with torch.no_grad():\n"
                "            w -= lr * gradiente\n"
                "    return ws, Js\n"
            )
        },
        "twin": {},  # the solution
    },
}

FALSE_REJECTS: dict[str, dict] = {
    "ipython_display": {
        "does": (
            "`from IPython.display import display` in an answer cell (to show a result, as in Colab): IPython is "
            "a _DYNAMIC_MODULES entry, so no function of the notebook has readable code afterwards: "
            "soma_linhas_sem_laco and derivada_autograd fail (4/6; one kernel: 6/6)"
        ),
        "answers": {
            "soma_linhas": "from IPython.display import display\n\n\n"
            + RT2_SOMA_CERTA
            + "\n\nimport numpy as np\ndisplay(soma_linhas(np.ones((2, 2))))\n",
            "atualiza": RT2_ATUALIZA_CERTA,
            "derivada": RT2_DERIVADA_CERTA,
        },
        "twin": {
            "soma_linhas": RT2_SOMA_CERTA + "\n\nimport numpy as np\nprint(soma_linhas(np.ones((2, 2))))\n",
            "atualiza": RT2_ATUALIZA_CERTA,
            "derivada": RT2_DERIVADA_CERTA,
        },
    },
    "import_gc": {
        "does": (
            "`import gc` / gc.collect() in the memory exercise's answer cell: every later structure check fails "
            "(derivada_autograd: 5/6; one kernel: 6/6)"
        ),
        "answers": {
            "soma_linhas": RT2_SOMA_CERTA,
            "atualiza": "import gc\n\n\n" + RT2_ATUALIZA_CERTA + "\n\ngc.collect()\n",
            "derivada": RT2_DERIVADA_CERTA,
        },
        "twin": RT2_RIGHT,
    },
    "config_retina": {
        "does": (
            "`%config InlineBackend.figure_format = 'retina'` (sharper plots) at the top of an answer cell: "
            "%config is in _DYNAMIC_MAGICS, both structure checks fail (4/6; one kernel: 6/6)"
        ),
        "answers": {
            "soma_linhas": "%config InlineBackend.figure_format = 'retina'\n\n" + RT2_SOMA_CERTA,
            "atualiza": RT2_ATUALIZA_CERTA,
            "derivada": RT2_DERIVADA_CERTA,
        },
        "twin": RT2_RIGHT,
    },
    "cprofile": {
        "does": (
            "profiling the vectorized version with cProfile.run (an efficiency course): cProfile is a dynamic "
            "module, both structure checks fail (4/6; one kernel: 6/6)"
        ),
        "answers": {
            "soma_linhas": "import cProfile\n\nimport numpy as np\n\n\n"
            + RT2_SOMA_CERTA
            + "\n\ncProfile.run('soma_linhas(np.ones((300, 300)))')\n",
            "atualiza": RT2_ATUALIZA_CERTA,
            "derivada": RT2_DERIVADA_CERTA,
        },
        "twin": {
            "soma_linhas": "import numpy as np\n\n\n"
            + RT2_SOMA_CERTA
            + "\n\nsoma_linhas(np.ones((300, 300)))\n",
            "atualiza": RT2_ATUALIZA_CERTA,
            "derivada": RT2_DERIVADA_CERTA,
        },
    },
    "alias_de_biblioteca": {
        "does": (
            "a library function under a short name (`somar = np.sum`) called by soma_linhas: the check follows "
            "every called name, and T's __globals__ (runtime._StudentNames) gives it a _NotADef instead of "
            "numpy's function (which the test skips as a library): 'Não foi possível ler o código de somar' "
            "(5/6; one kernel: 6/6)"
        ),
        "answers": {
            "soma_linhas": "import numpy as np\n\nsomar = np.sum\n\n\ndef soma_linhas(X):\n    return somar(X, axis=1)\n",
            "atualiza": RT2_ATUALIZA_CERTA,
            "derivada": RT2_DERIVADA_CERTA,
        },
        "twin": {
            "soma_linhas": "import numpy as np\n\n\ndef soma_linhas(X):\n    return np.sum(X, axis=1)\n",
            "atualiza": RT2_ATUALIZA_CERTA,
            "derivada": RT2_DERIVADA_CERTA,
        },
    },
}
STATE_ATTACKS.update(
    {
        name: StateAttack(spec["does"], spec["answers"], spec["twin"])
        for name, spec in REDTEAM2.items()
        if spec.get("course", "padroes") == "padroes"
    }
)
# Since a test that reads code runs the text in the replay, an attack whose decoy `def` is itself a right answer
# (the first round's were) gains what writing that right answer gains: its twin is the same defs without the
# trick that rebinds the name behind them (the second round's decoys are wrong, and their twins unchanged).
_RIGHT_DECOYS = {
    "exec_depois_do_def": {"soma_linhas": RT_ISCA},
    "importa_estrela": {"soma_linhas": RT_ISCA},
    "cprofile_run": {"soma_linhas": RT_LACO + RT_ISCA},
    "ipython_push": {"soma_linhas": RT_LACO + RT_ISCA},
    "excecao_antes_da_isca": {"soma_linhas": RT_SOMA_COM_LACO + "\n\n" + RT_ISCA},
    "excecao_silenciosa": {"soma_linhas": RT_SOMA_COM_LACO + "\n\n" + RT_ISCA},
    "derivada_numerica": {"derivada": RT2_DERIVADA_CERTA},
    "numpy_trocado": {
        "soma_linhas": "import numpy as np\n\n\ndef soma_linhas(X):\n    return np.sum(X, axis=1)\n"
    },
}
for _name, _twin in _RIGHT_DECOYS.items():
    STATE_ATTACKS[_name] = StateAttack(STATE_ATTACKS[_name].does, STATE_ATTACKS[_name].answers, _twin)
# A third red-team round (against the replay). The loop version prints a marker, so a test can tell it ran.
RT3_LACO = (
    "import numpy as np\n\n\ndef _soma_com_laco(X):\n    print('RT3 LACO RODOU')\n"
    "    return np.array([sum(linha) for linha in X])\n"
)
RT3_LACO_TWIN = (
    "def soma_linhas(X):\n    import numpy as np\n    return np.array([sum(linha) for linha in X])\n"
)
RT3_DERIVADA_AUX = (
    "def _derivada_numerica(x):\n    h = 1e-6\n    x64 = x.detach().double()\n"
    "    return ((g_licao(x64 + h) - g_licao(x64 - h)) / (2 * h)).to(x.dtype)\n"
)


def _shifted(separator: str) -> dict[str, str]:
    """Line ends that str.splitlines sees and Python does not, in a comment: the lines a def was read from were
    shifted up, so the check read a loop-free decoy def while the replay ran the lines above the last def (the
    decoy plus `soma_linhas = _soma_com_laco`): the loop."""
    return {
        "soma_linhas": RT3_LACO
        + f"\n\n#{separator * 3} (comentário)\n"
        + "def soma_linhas(X):\n    return X.sum()\nsoma_linhas = _soma_com_laco\n"
        + "def soma_linhas(X):\n    pass\n    return _soma_com_laco(X)\n",
        "atualiza": ATUALIZA_CERTA,
        "derivada": RT3_DERIVADA_AUX
        + f"\n\n#{separator * 4}\n"
        + "def derivada(x):\n    x.sum().backward()\n    return x.grad\nderivada = _derivada_numerica\n"
        + "def derivada(x):\n    pass\n    pass\n    return _derivada_numerica(x)\n",
    }


RT3_TWIN = {
    "soma_linhas": RT3_LACO_TWIN,
    "atualiza": ATUALIZA_CERTA,
    "derivada": "def derivada(x):\n    return _derivada_numerica(x)\n\n\n" + RT3_DERIVADA_AUX,
}
REDTEAM3: dict[str, dict] = {
    "linhas_deslocadas_form_feed": {
        "does": "form feeds in a comment: the check read a decoy def, the replay ran the loop (and the numeric "
        "derivative): soma_linhas_sem_laco and derivada_autograd earned 6 against the twin's 4",
        "answers": _shifted("\x0c"),
        "twin": RT3_TWIN,
    },
    "linhas_deslocadas_u2028": {
        "does": "the same with U+2028 (LINE SEPARATOR), which Python reads as a character of the comment",
        "answers": _shifted("\u2028"),
        "twin": RT3_TWIN,
    },
    "apelido_resolvido_duas_vezes": {
        "does": "`_somar = _raiz.__call__` under `if False:` while `_raiz` is numpy (so the check saw numpy's and "
        "skipped it), then `def _raiz` with the loop: the replay made the alias after that def, and ran the loop",
        "answers": {
            "soma_linhas": RT3_LACO
            + "\n\ndef _somar(X):\n    return _soma_com_laco(X)\n\n\n"
            + "import numpy as _raiz\n\nif False:\n    _somar = _raiz.__call__\n\n\n"
            + "def _raiz(X):\n    return _soma_com_laco(X)\n\n\n"
            + "def soma_linhas(X):\n    return _somar(X)\n",
            "atualiza": ATUALIZA_CERTA,
            "derivada": DERIVADA_CERTA,
        },
        "twin": {"soma_linhas": RT3_LACO_TWIN, "atualiza": ATUALIZA_CERTA, "derivada": DERIVADA_CERTA},
    },
    "argumentos_em_memoria_ja_tocada": {
        "does": "on its first call in the replay (the memory cell's warm-up), atualiza swaps the replay's "
        "wire.recv_frame for one that receives large requests into 48 MiB it touched then: the measured call's "
        "arguments cost no new page while T still subtracted their size, hiding the second buffer of "
        "`C[:] = C + D` (1.0x instead of 2.0x)",
        "answers": {
            "soma_linhas": SOMA_CERTA,
            "atualiza": "import sys\n\nimport torch\n\n\n"
            "def _instala(caixa):\n"
            "    wire = sys.modules.get('inkernel.wire')\n"
            "    caixa.append(bytearray(b'\\1' * (48 << 20)))\n"
            "    if wire is None:\n"
            "        return\n"
            "    def recebe(sock, max_bytes, deadline=None):\n"
            "        cabeca = bytearray(wire.FRAME.size)\n"
            "        wire._read_into(sock, memoryview(cabeca), deadline)\n"
            "        tamanho, pedido = wire.FRAME.unpack(cabeca)\n"
            "        corpo = memoryview(caixa[0])[:tamanho] if (1 << 20) <= tamanho <= len(caixa[0]) "
            "else bytearray(tamanho)\n"
            "        wire._read_into(sock, memoryview(corpo), deadline)\n"
            "        return pedido, corpo\n"
            "    wire.recv_frame = recebe\n\n\n"
            "def atualiza(C, A, B, _caixa=[]):\n"
            "    if not _caixa:\n"
            "        _instala(_caixa)\n"
            "    D = A @ B.T\n"
            "    C[:] = C + D\n",
            "derivada": DERIVADA_CERTA,
        },
        "twin": {"soma_linhas": SOMA_CERTA, "atualiza": RT_ATUALIZA_DOIS, "derivada": DERIVADA_CERTA},
    },
    "chamada_ao_receber": {
        "does": "(a review of the two-request call) on its warm-up call, atualiza swaps the replay's "
        "Agent.prepare for one that runs a staged call at once and keeps its reply for `go`: the call's memory "
        "falls before the measure's window, unless what the replay touched while receiving counts",
        "answers": {
            "soma_linhas": SOMA_CERTA,
            "atualiza": "import sys\n\nimport torch\n\n\n"
            "def _instala():\n"
            "    agente = sys.modules.get('inkernel.agent')\n"
            "    if agente is None:\n"
            "        return\n"
            "    original = agente.Agent.prepare\n"
            "    def prepara(self, header, buffers):\n"
            "        run = original(self, header, buffers)\n"
            "        if header.get('stage'):\n"
            "            pronta = run()\n"
            "            return lambda: pronta\n"
            "        return run\n"
            "    agente.Agent.prepare = prepara\n\n\n"
            "def atualiza(C, A, B, _feito=[]):\n"
            "    if not _feito:\n"
            "        _feito.append(1)\n"
            "        _instala()\n"
            "    D = A @ B.T\n"
            "    C[:] = C + D\n",
            "derivada": DERIVADA_CERTA,
        },
        "twin": {"soma_linhas": SOMA_CERTA, "atualiza": RT_ATUALIZA_DOIS, "derivada": DERIVADA_CERTA},
    },
}
STATE_ATTACKS.update(
    {name: StateAttack(spec["does"], spec["answers"], spec["twin"]) for name, spec in REDTEAM3.items()}
)
FALSE_REJECTS.update(
    {
        "u2028_na_docstring": {
            "does": "U+2028 inside the docstring of a right soma_linhas: the replay ran the def cut at it (no return)",
            "answers": {
                "soma_linhas": 'def soma_linhas(X):\n    """Soma\u2028das linhas."""\n    return X.sum(axis=1)\n',
                "atualiza": ATUALIZA_CERTA,
                "derivada": DERIVADA_CERTA,
            },
        },
        "form_feed_num_comentario": {
            "does": "a form feed in a comment above a right soma_linhas (an old editor's page break)",
            "answers": {
                "soma_linhas": "# seção\x0c\ndef soma_linhas(X):\n    return X.sum(axis=1)\n",
                "atualiza": ATUALIZA_CERTA,
                "derivada": DERIVADA_CERTA,
            },
        },
    }
)
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


def _pattern_notebook(release, answers: dict):
    nb = copy.deepcopy(release)
    for key, value in answers.items():
        if key.startswith("@"):
            cell_by_grade_id(nb, key[1:]).metadata["nbgrader"] = value
        elif key.startswith("+"):
            after = nb.cells.index(cell_by_grade_id(nb, f"resposta_{key[1:]}"))
            nb.cells.insert(after + 1, nbformat.v4.new_code_cell(value))
        else:
            cell_by_grade_id(nb, f"resposta_{key}").source = value
    return nb


def _write_raw(path: Path, nb) -> None:
    """Written as JSON as it is: a notebook with metadata nbformat would refuse."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")


def _grade_batch(course: Path, assignment: str, subs: Path, reports: Path) -> dict[str, dict]:
    """`grader grade` on one batch of submissions, from the command line (no similarity report): each
    student's scores.json entry, by id."""
    done = subprocess.run(
        [sys.executable, "-m", "grader.cli", "--course-dir", str(course), "grade", assignment]
        + ["--submissions", str(subs), "--report-dir", str(reports), "--workers", "2"]
        + ["--no-progress", "--no-similarity"],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=course,
    )
    print(done.stdout[-4000:])
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    scores = json.loads((reports / assignment / "scores.json").read_text())
    return {s["student_id"]: s for s in scores["students"]}


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
    for name, spec in FALSE_REJECTS.items():
        _write_raw(
            subs / f"certo_{name}" / "padroes" / "padroes.ipynb", _pattern_notebook(release, spec["answers"])
        )
    for attack, spec in STATE_ATTACKS.items():
        _write_raw(subs / attack / "padroes" / "padroes.ipynb", _pattern_notebook(release, spec.answers))
        _write_raw(
            subs / f"gemeo_{attack}" / "padroes" / "padroes.ipynb", _pattern_notebook(release, spec.twin)
        )
    scores = _grade_batch(settings.course_dir, "padroes", subs, root / "rel")
    return PatternsGraded(scores, settings.course_dir)


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


@pytest.mark.parametrize("name", list(FALSE_REJECTS))
def test_right_answers_in_ordinary_styles_earn_full_marks(graded_patterns: PatternsGraded, name: str):
    student = graded_patterns.scores[f"certo_{name}"]
    assert student["score"] == student["max_score"] == 6.0, {
        g: c["passed"] for g, c in student["cells"].items()
    }


def test_state_attacks_honest_students(graded_patterns: PatternsGraded):
    right, blank = graded_patterns.scores["certo"], graded_patterns.scores["branco"]
    assert right["score"] == right["max_score"] == 6.0, right["cells"]
    assert blank["score"] == 0.0
    # a function that does nothing earns nothing, anywhere
    assert graded_patterns.scores["faz_nada"]["score"] == 0.0
    # the tests ran on T's own objects: the emptied list and the widened set are still T's
    assert "deveria usar o autograd" in graded_patterns.outputs("nomes_de_teste", "derivada_autograd")
    # a check that reads code checks the text, run by the replay: what exec put behind it does not count there
    assert "LACO RODOU" not in graded_patterns.outputs("agente_pela_thread", "soma_linhas_sem_laco")


# === The real course: the blank release with a prelude that fills every function's inputs in place ==========
#
# Measured against the test kernel of issue 11: the untouched release, plus a few lines in its first answer cell
# that replace every stub (a function that still raises NotImplementedError) by one that zeroes the tensors and
# arrays it receives and returns the first of them, earned 22 of 48 automatic points. Its twin returns the same
# without touching its inputs. Both are graded in one batch, with the real notebooks of the course.

PRELUDE = """import inspect
import numpy as np
import torch


def _preenche(*args, **kwargs):
    primeiro = None
    for valor in [*args, *kwargs.values()]:
        if isinstance(valor, torch.Tensor) and valor.device.type != 'meta':
            with torch.no_grad():
                ZERA(valor)
        elif isinstance(valor, np.ndarray) and valor.flags.writeable:
            ZERA(valor)
        if primeiro is None and isinstance(valor, (torch.Tensor, np.ndarray)):
            primeiro = valor
    return primeiro


def _troca(resultado=None):
    ns = get_ipython().user_ns
    for nome, valor in list(ns.items()):
        if inspect.isfunction(valor) and not nome.startswith('_'):
            try:
                fonte = inspect.getsource(valor)
            except (OSError, TypeError):
                continue
            if 'NotImplementedError' in fonte:
                ns[nome] = _preenche


get_ipython().events.register('post_run_cell', _troca)
"""
FILLS = "valor[...] = 0"  # the attack; its twin: "pass"


@pytest.mark.parametrize("assignment", ["programacao_diferenciavel"])
def test_filling_the_inputs_earns_nothing_on_the_real_course(tmp_path, sandbox_available, assignment):
    if not sandbox_available:
        pytest.skip("the attacks need the sandbox (bubblewrap)")
    from tests.helpers import build_example_course

    settings = build_example_course(tmp_path / "curso", True)
    release = nbformat.read(settings.release_dir / assignment / f"{assignment}.ipynb", as_version=4)
    first = next(c for c in release.cells if nbgrader_meta(c).get("solution") and c.cell_type == "code")
    subs = tmp_path / "submitted"
    for student, fill in (("preenche", FILLS), ("gemeo_preenche", "pass")):
        nb = copy.deepcopy(release)
        cell = next(c for c in nb.cells if c.get("id") == first.get("id"))
        cell.source = PRELUDE.replace("ZERA(valor)", fill) + "\n\n" + cell.source
        write_notebook(subs / student / assignment / f"{assignment}.ipynb", nb)
    by_id = _grade_batch(settings.course_dir, assignment, subs, tmp_path / "rel")
    attack, twin = by_id["preenche"], by_id["gemeo_preenche"]
    earned = {g for g, c in attack["cells"].items() if c["passed"] and not c["needs_manual_grade"]}
    by_twin = {g for g, c in twin["cells"].items() if c["passed"] and not c["needs_manual_grade"]}
    print(f"preenche: {attack['score']}/{attack['max_score']}; twin {twin['score']}; cells {sorted(earned)}")
    assert earned <= by_twin and attack["score"] <= twin["score"]
    assert attack["score"] == 0.0, sorted(earned)  # the release's stubs, filled or not, earn nothing

#!/usr/bin/env python3
"""Checks of what an install puts on a machine, run by ctest (tests/packaging/CMakeLists.txt) on a built tree:

    check_packaging.py BUILD_DIR SOURCE_DIR completions|man|install|example|keys

completions  the generated bash completions complete what omnisyncctl's and omnisyncd's --help offer (commands,
             options, the catalogue's allowed values, paths for FILE options); zsh and fish accept theirs
man          every page renders without groff warnings at 80 and 120 columns (as lintian reads it); omnisyncctl(8)
             lists every command and omnisyncd(8) every option of --help; omnisync.yaml(5) holds every section
             of docs/configuration.md
install      `cmake --install` into a scratch DESTDIR, prefixes /usr/local and /usr: the config lands where
             omnisyncd's default -c and the unit's ExecStart look, and validates there; completions and man pages
             where the shells and man look; the prefix rule of cmake/OmnisyncInstallDirs.cmake
example      the commented sections of config/omnisync.example.yaml (identity, survivorship, kpis,
             propagation, audit), uncommented, and the example in docs/configuration.md, pass --check-config
keys         every key the loader accepts (the known_keys lists of daemon/config/*.cpp) is in
             docs/configuration.md, which omnisync.yaml(5) is made of (connector keys: config_reference_doc)
Prints one line per check and exits 1 when one fails.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

BUILD, SOURCE, WHAT = sys.argv[1], sys.argv[2], sys.argv[3]
REF = os.path.join(BUILD, "cli-reference")
MAN = os.path.join(BUILD, "man")
OMNISYNCD = os.path.join(BUILD, "daemon/app/omnisyncd")
OMNISYNCCTL = os.path.join(BUILD, "daemon/ctl/omnisyncctl")
CMAKE = os.environ.get("OMNISYNC_CMAKE", "cmake")
failures = 0


def check(name, ok, detail=""):
    global failures
    print(("ok - " if ok else "FAIL - ") + name + ("" if ok or not detail else ": " + detail))
    if not ok:
        failures += 1


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def help_commands():
    """omnisyncctl's commands, from its own --help."""
    out = run([OMNISYNCCTL, "--help"]).stdout
    section = out.split("Subcommands:", 1)[1]
    return [line.split()[0] for line in section.splitlines() if line.strip()]


def help_options(binary, sub=None):
    out = run([binary] + ([sub] if sub else []) + ["--help"]).stdout
    return sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", out.split("Options:", 1)[1].split("Subcommands:")[0])))


def bash_complete(script, words):
    """COMPREPLY for the command line `words` (the last one is being completed) with the completion `script`."""
    prog = f"""
source {script}
COMP_WORDS=({' '.join("'" + w + "'" for w in words)}); COMP_CWORD={len(words) - 1}
fn=$(complete -p {words[0]} | sed -E 's/.*-F ([^ ]+) .*/\\1/')
$fn
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    r = run(["bash", "-c", prog])
    return [w for w in r.stdout.splitlines() if w]


def completions():
    ctl, d = os.path.join(REF, "omnisyncctl.bash"), os.path.join(REF, "omnisyncd.bash")
    check("bash accepts the completions", run(["bash", "-n", ctl]).returncode == 0 and run(["bash", "-n", d]).returncode == 0)
    cmds = help_commands()
    check("omnisyncctl <TAB>: every command of --help", bash_complete(ctl, ["omnisyncctl", ""]) == cmds,
          f"{bash_complete(ctl, ['omnisyncctl', ''])} != {cmds}")
    check("omnisyncctl --socket S dl<TAB> -> dlq", bash_complete(ctl, ["omnisyncctl", "--socket", "/tmp/s", "dl"]) == ["dlq"])
    check("omnisyncctl dlq <TAB>: the catalogue's actions",
          bash_complete(ctl, ["omnisyncctl", "dlq", ""]) == ["list", "show", "stats", "retry", "drop"])
    check("omnisyncctl profile <TAB>: the catalogue's actions",
          bash_complete(ctl, ["omnisyncctl", "profile", ""]) == ["get", "explain", "split", "restore", "resync", "list", "search"])
    check("omnisyncctl profile get <TAB>: a free-form query, no suggestion",
          bash_complete(ctl, ["omnisyncctl", "profile", "get", ""]) == [])
    for sub in cmds:
        got = set(bash_complete(ctl, ["omnisyncctl", sub, "--"]))
        want = set(help_options(OMNISYNCCTL, sub))
        check(f"omnisyncctl {sub} --<TAB>: the options of its --help", got == want, f"{sorted(got)} != {sorted(want)}")
    got = set(bash_complete(ctl, ["omnisyncctl", "--"]))
    check("omnisyncctl --<TAB>: the global options", got == set(help_options(OMNISYNCCTL)), str(sorted(got)))
    with tempfile.TemporaryDirectory() as t:
        open(os.path.join(t, "records.jsonl"), "w").close()
        got = bash_complete(ctl, ["omnisyncctl", "map", "--input", os.path.join(t, "rec")])
        check("omnisyncctl map --input <TAB>: paths", got == [os.path.join(t, "records.jsonl")], str(got))
        got = bash_complete(d, ["omnisyncd", "--state-dir", t + "/"])
        check("omnisyncd --state-dir <TAB>: folders only", got == [], str(got))
    got = set(bash_complete(d, ["omnisyncd", "--"]))
    check("omnisyncd --<TAB>: the options of its --help", got == set(help_options(OMNISYNCD)), str(sorted(got)))
    if shutil.which("zsh"):
        check("zsh accepts _omnisyncctl and _omnisyncd",
              all(run(["zsh", "-n", os.path.join(REF, f)]).returncode == 0 for f in ("_omnisyncctl", "_omnisyncd")))
    if shutil.which("fish"):
        r = run(["fish", "-c", f"source {REF}/omnisyncctl.fish; complete -C 'omnisyncctl '; complete -C 'omnisyncctl dlq '"])
        got = [line.split("\t")[0] for line in r.stdout.splitlines()]
        check("fish: commands, then dlq's actions", got[: len(cmds)] == sorted(cmds) or set(cmds) <= set(got)
              and {"list", "show", "retry", "drop"} <= set(got), str(got))


def man_text(page, width):
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH=str(width), MANROFFSEQ="")
    r = run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", os.path.join(MAN, page)], env=env)
    # Plain text: no overstrike (bold/underline as "x\bx", "_\bx", which man keeps when it is given -T), and
    # words hyphenated at a line end joined again.
    text = re.sub(r".\x08", "", r.stdout)
    text = re.sub(r"(\w)\u2010\n\s+(?=\w)", r"\1", text)
    return text, r.stderr


def flat(text):
    """The rendered text with every run of blanks (justification, line breaks) as one space."""
    return re.sub(r"\s+", " ", text)


def man():
    for page in ("omnisyncd.8", "omnisyncctl.8", "omnisync.yaml.5", "omnisync-mapping.5", "omnisync-sim.1"):
        for width in (80, 120):
            out, err = man_text(page, width)
            check(f"{page} renders at {width} columns without warnings", out.strip() != "" and err.strip() == "", err[:400])
    ctl, _ = man_text("omnisyncctl.8", 80)
    missing = [c for c in help_commands() if not re.search(rf"^   {re.escape(c)}$", ctl, re.M)]
    check("omnisyncctl(8) has a section for every command of --help", not missing, str(missing))
    for word in ("list", "retry", "explain", "restore", "Result (--json)", "Changes the daemon's state"):
        check(f"omnisyncctl(8) says {word!r} (from the catalogue)", word in flat(ctl))
    d, _ = man_text("omnisyncd.8", 80)
    missing = [o for o in help_options(OMNISYNCD) if o not in flat(d)]
    check("omnisyncd(8) describes every option of --help", not missing, str(missing))
    default = re.search(r"-c,--config FILE=(\S+)", run([OMNISYNCD, "--help"]).stdout)
    check("omnisyncd(8) gives --config's default", default is not None and default.group(1) in flat(d))
    y, _ = man_text("omnisync.yaml.5", 200)
    doc = open(os.path.join(SOURCE, "docs/configuration.md"), encoding="utf-8").read()
    missing = [h for h in re.findall(r"^#{2,3} (.+)$", doc, re.M) if re.sub(r"[`*]", "", h) not in flat(y)]
    check("omnisync.yaml(5) holds every section of docs/configuration.md", not missing, str(missing))
    for key in ("max_records_per_identifier", "null_wins", "closed_statuses", "deletes", "engaged_after_first_order"):
        check(f"omnisync.yaml(5) documents {key}", key in flat(y))


def install():
    for prefix, zsh_dir in (("/usr/local", "usr/local/share/zsh/site-functions"), ("/usr", "usr/share/zsh/vendor-completions")):
        with tempfile.TemporaryDirectory() as dest:
            r = run([CMAKE, "--install", BUILD, "--prefix", prefix], env=dict(os.environ, DESTDIR=dest))
            check(f"cmake --install --prefix {prefix} (DESTDIR)", r.returncode == 0, r.stderr[-800:])
            if r.returncode != 0:
                continue
            p = prefix.lstrip("/")
            config = os.path.join(dest, "etc/omnisync/omnisync.yaml")
            check(f"{prefix}: the config is in /etc/omnisync", os.path.isfile(config))
            default = re.search(r"-c,--config FILE=(\S+)", run([OMNISYNCD, "--help"]).stdout).group(1)
            check(f"{prefix}: omnisyncd's default -c is the installed config", default == "/etc/omnisync/omnisync.yaml")
            unit = open(os.path.join(dest, p, "lib/systemd/system/omnisync.service")).read()
            check(f"{prefix}: the unit runs {prefix}/bin/omnisyncd on it",
                  f"ExecStart={prefix}/bin/omnisyncd -c /etc/omnisync/omnisync.yaml\n" in unit)
            docs = re.search(r"^Documentation=(.*)$", unit, re.M).group(1).split()
            pages = [re.fullmatch(r"man:([^(]+)\((\d)\)", x) for x in docs]
            check(f"{prefix}: the unit's Documentation= pages are installed",
                  all(m and os.path.isfile(os.path.join(dest, p, f"share/man/man{m.group(2)}/{m.group(1)}.{m.group(2)}.gz")) for m in pages), str(docs))
            r = run([os.path.join(dest, p, "bin/omnisyncd"), "--check-config", "-c", config])
            check(f"{prefix}: the installed config and mappings pass --check-config", r.returncode == 0, r.stderr[-800:])
            for f in ("share/bash-completion/completions/omnisyncctl", "share/bash-completion/completions/omnisyncd",
                      "share/fish/vendor_completions.d/omnisyncctl.fish", "share/man/man8/omnisyncctl.8.gz",
                      "share/man/man5/omnisync.yaml.5.gz", "share/man/man1/omnisync-demo.1.gz", "bin/omnisync-demo"):
                check(f"{prefix}: {f}", os.path.lexists(os.path.join(dest, p, f)))
            check(f"{prefix}: zsh completion in {zsh_dir}", os.path.isfile(os.path.join(dest, zsh_dir, "_omnisyncctl")))
            demo = open(os.path.join(dest, p, "bin/omnisync-demo")).read()
            check(f"{prefix}: omnisync-demo runs the installed files",
                  f"OMNISYNC_DAEMON={prefix}/bin/omnisyncd\n" in demo and "OMNISYNC_MAPPINGS_DIR=/etc/omnisync/mappings\n" in demo)
    rule = os.path.join(SOURCE, "cmake/OmnisyncInstallDirs.cmake")
    for prefix, want in (("/usr", "/etc/omnisync"), ("/usr/local", "/etc/omnisync"), ("/opt/omnisync", "/etc/omnisync"),
                         ("/home/ann/.local", "/home/ann/.local/etc/omnisync"), ("/tmp/x/", "/tmp/x/etc/omnisync")):
        r = run([CMAKE, f"-DOMNISYNC_PREFIX={prefix}", "-P", rule])
        got = re.search(r"config=(\S+)", r.stderr)
        check(f"prefix {prefix}: config in {want}", got is not None and got.group(1) == want, r.stderr)


def example():
    text = open(os.path.join(SOURCE, "config/omnisync.example.yaml"), encoding="utf-8").read()
    head, tail = text.split("# ---- the 360-degree profile", 1)
    # The sections from identity: on, uncommented (their own comments stay comments).
    lines = tail.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("# identity:"))
    body = [line[2:] for line in lines[start:] if line.startswith("# ") and not line.startswith("#   #")]
    doc = open(os.path.join(SOURCE, "docs/configuration.md"), encoding="utf-8").read()
    sample = doc.split("## Example: the profile sections", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    for name, extra, sections in (
            ("the example config's commented sections", "\n".join(body),
             ("identity", "survivorship", "kpis", "propagation", "audit")),
            ("docs/configuration.md's profile example", sample, ("identity", "survivorship", "kpis", "propagation"))):
        with tempfile.TemporaryDirectory() as t:
            shutil.copytree(os.path.join(SOURCE, "config/mappings"), os.path.join(t, "mappings"))
            cfg = os.path.join(t, "omnisync.yaml")
            with open(cfg, "w", encoding="utf-8") as f:
                f.write(head + "\n" + extra + "\n")
            for section in sections:
                check(f"{name}: has {section}", re.search(rf"^{section}:", extra, re.M) is not None)
            r = run([OMNISYNCD, "--check-config", "-c", cfg])
            check(f"{name} pass --check-config", r.returncode == 0, r.stderr[-1500:])


def keys():
    import glob
    doc = open(os.path.join(SOURCE, "docs/configuration.md"), encoding="utf-8").read()
    spans = re.findall(r"`([^`]+)`", doc) + re.findall(r"^#+ (.+)$", doc, re.M)
    found = 0
    for f in sorted(glob.glob(os.path.join(SOURCE, "daemon/config/*.cpp"))):
        text = open(f, encoding="utf-8").read()
        for m in re.finditer(r"known_keys\(\s*[^,]+,\s*([^,]+),\s*\{([^}]*)\}", text):
            literal = m.group(1).strip()
            prefix = literal.strip('"') + "." if literal.startswith('"') and literal != '""' else ""
            for key in re.findall(r'"([^"]+)"', m.group(2)):
                found += 1
                # `key`, `path.key`, `match[].key`, `<attribute>.key`, `key.sub`, `{key, ...}` or a heading.
                k = re.escape(key)
                ok = any(re.fullmatch(rf"(.*[.\]])?{k}([.\[].*)?( \(.*\))?", x) or re.search(rf"[{{,]\s*{k}\b", x)
                         for x in spans)
                check(f"docs/configuration.md documents {prefix}{key}", ok)
    check("the loader's key lists were found", found > 40, str(found))


{"completions": completions, "man": man, "install": install, "example": example, "keys": keys}[WHAT]()
sys.exit(1 if failures else 0)

#!/usr/bin/python3
"""Checks that the man pages document what siphon really offers.

    check_docs.py SIPHON ERROR_H SIPHON_1 SIPHON_CONFIG_5 SIPHON_PLUGINS_7

SIPHON is the siphon binary to ask (its plugins are whatever it loads, so set
SIPHON_PLUGIN_PATH / SIPHON_PLUGIN_SYSTEM_PATH as needed); ERROR_H is
core/error.h; the pages are man sources, plain or gzip-compressed.

Both directions are checked, so a new option without documentation fails, and
so does documentation of an option that no longer exists:
  siphon(1)          every command of `siphon --help`, every long option of
                     every command's --help, every exit code of core/error.h
                     (and nothing else under EXIT STATUS), every environment
                     variable a plugin option declares;
  siphon-config(5)   every host option, every option of every source and sink
                     in its own section, every stream and group of a source;
  siphon-plugins(7)  every sink, and the ABI version the host loads.
Prints one line per problem and "docs: N passed, M failed"; exits 1 on any
failure.
"""
import gzip
import json
import re
import subprocess
import sys

failures = []
passes = 0


def check(ok, what):
    global passes
    if ok:
        passes += 1
    else:
        failures.append(what)
        print("FAIL - " + what)


def read_page(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return f.read()


def run(siphon, *args):
    out = subprocess.run([siphon, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, check=False)
    return out.returncode, out.stdout + out.stderr


def unescape(text):
    """Turns troff escapes into the characters a reader sees."""
    text = re.sub(r"\\f[BIRP]", "", text)
    text = text.replace("\\-", "-").replace("\\(dq", '"').replace("\\(aq", "'")
    text = text.replace("\\~", " ").replace("\\e", "\\")
    return text


def sections(page):
    """{"NAME": body} for .SH, and {"NAME/SUB": body} for .SS, in source text."""
    out, sh, ss = {}, "", None
    for line in page.splitlines():
        m = re.match(r'^\.(SH|SS)\s+"?(.*?)"?\s*$', line)
        if m:
            if m.group(1) == "SH":
                sh, ss = unescape(m.group(2)), None
                out.setdefault(sh, [])
            else:
                ss = unescape(m.group(2))
                out.setdefault(sh + "/" + ss, [])
            continue
        out.setdefault(sh, []).append(line)
        if ss is not None:
            out[sh + "/" + ss].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def tags(body):
    """The identifiers named in the tag line of every .TP in body: for
    `.BR layer ", " folder " (string)"` that is layer and folder."""
    names = set()
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if line.strip() != ".TP" or i + 1 >= len(lines):
            continue
        tag = lines[i + 1]
        tag = re.sub(r"^\.[A-Z]+\s*", "", tag)
        tag = re.sub(r'"[^"]*"', " ", tag)   # quoted text: types, defaults, punctuation
        for word in re.split(r"[\s,;()]+", unescape(tag)):
            # Option names are lower case; upper-case words are their
            # environment variables (see envs_in).
            if re.fullmatch(r"[a-z_][A-Za-z0-9_]*", word):
                names.add(word)
    return names


def rendered(macro_line):
    """The text a font macro line (.B, .BR, .IR ...) shows: its arguments,
    split as troff splits them (double quotes group), joined without spaces."""
    rest = re.sub(r"^\.[A-Z]+\s*", "", macro_line)
    if rest == macro_line:
        return unescape(macro_line)
    args = re.findall(r'"((?:[^"]|"")*)"|(\S+)', rest)
    return "".join(unescape((q.replace('""', '"') if q or not b else b)) for q, b in args)


def tag_facts(body):
    """{name: (type, default)} for every .TP tag that documents one option,
    as a reader sees it: `sink (string or object, default "stdout")` gives
    ("string or object", '"stdout"'). Either part is None when not stated."""
    facts = {}
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if line.strip() != ".TP" or i + 1 >= len(lines):
            continue
        m = re.fullmatch(r"([a-z_][a-z0-9_]*)(?: \((.*)\))?", rendered(lines[i + 1]).strip())
        if not m:
            continue
        inside = m.group(2) or ""
        head = inside.split(",")[0].split(";")[0].strip()
        kind = head if head and not head.startswith("default") else None
        d = re.search(r"default (.+?)(?:;|$)", inside)
        facts[m.group(1)] = (kind, d.group(1).strip() if d else None)
    return facts


def is_literal(text):
    try:
        json.loads(text)
        return True
    except ValueError:
        return False


def same_default(documented, declared):
    """The documented default text against the declared JSON default."""
    return documented.replace(" ", "") == json.dumps(declared).replace(" ", "")


def check_facts(where, facts, declared):
    json_type = {"string": "string", "integer": "integer", "number": "number",
                 "boolean": "boolean"}
    for name, (kind, default) in facts.items():
        p = declared.get(name)
        if not isinstance(p, dict):
            continue
        if kind in json_type and "type" in p:
            check(p["type"] == json_type[kind], "%s: '%s' is documented as %s, declared %s"
                  % (where, name, kind, p["type"]))
        if default is not None and not is_literal(default):
            continue  # a default in words ("the stream's own"), not a value
        if default is not None:
            check("default" in p and same_default(default, p["default"]),
                  "%s: '%s' is documented with default %s, declared %s"
                  % (where, name, default, json.dumps(p.get("default"))))
        elif "default" in p and p["default"] not in ("", None, False):
            check(False, "%s: '%s' has the default %s, which is not documented"
                  % (where, name, json.dumps(p["default"])))


def envs_in(body):
    """The environment variables named in .TP tags: `.BR password " (...; " X )`."""
    found = set()
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == ".TP" and i + 1 < len(lines):
            found |= set(re.findall(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", unescape(lines[i + 1])))
    return found


def tag_heads(body):
    """The first word of every .TP tag as a reader sees it: for
    `.BI "plugins inspect " name` that is plugins."""
    heads = set()
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == ".TP" and i + 1 < len(lines):
            tag = unescape(re.sub(r"^\.[A-Z]+\s*", "", lines[i + 1])).replace('"', " ").split()
            if tag:
                heads.add(tag[0])
    return heads


def words(body):
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", unescape(body)))


def main():
    if len(sys.argv) != 6:
        print(__doc__)
        return 2
    siphon, error_h, p1, p5, p7 = sys.argv[1:]
    man1, man5, man7 = read_page(p1), read_page(p5), read_page(p7)
    s1, s5, s7 = sections(man1), sections(man5), sections(man7)

    # ---- siphon(1): commands and options
    rc, main_help = run(siphon, "--help")
    check(rc == 0, "siphon --help exits 0")
    commands = re.findall(r"^  ([a-z]+)\s{2,}", main_help.split("Commands:")[-1].split("\n\n")[0],
                          re.M)
    check(len(commands) >= 4, "siphon --help lists its commands (%s)" % commands)
    documented = tag_heads(s1.get("COMMANDS", ""))
    for c in commands:
        check(c in documented, "siphon(1) COMMANDS documents '%s'" % c)
    for c in documented - set(commands):
        # A command the help leaves out (such as `help` itself) must still work.
        check(run(siphon, c) == (0, main_help),
              "siphon(1) COMMANDS documents '%s', which siphon neither lists nor accepts" % c)

    text1 = unescape(man1)
    helps = [main_help]
    for c in commands:
        helps.append(run(siphon, c, "--help")[1])
    for sub in ("list", "inspect", "exists"):
        helps.append(run(siphon, "plugins", sub, "--help")[1])
    options = set()
    for h in helps:
        options |= set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", h))
    check(len(options) >= 10, "the --help texts name their options (%d found)" % len(options))
    for o in sorted(options):
        check(re.search(r"(?<![\w-])" + re.escape(o) + r"(?![\w-])", text1) is not None,
              "siphon(1) documents %s" % o)

    # ---- siphon(1): exit codes, from the source of truth
    with open(error_h, encoding="utf-8") as f:
        codes = {int(v) for v in re.findall(r"SX_EXIT_[A-Z_]+\s*=\s*(\d+)", f.read())}
    check(len(codes) >= 5, "core/error.h declares the exit codes (%s)" % sorted(codes))
    exit_status = s1.get("EXIT STATUS", "")
    documented_codes = {int(v) for v in re.findall(r"^\.TP\n\.B (\d+)$", exit_status, re.M)}
    check(documented_codes == codes,
          "siphon(1) EXIT STATUS lists exactly the codes of core/error.h (%s, documented %s)"
          % (sorted(codes), sorted(documented_codes)))
    help_codes = {int(v) for v in re.findall(r"(\d+) [a-z]", main_help.split("Exit codes:")[-1])}
    check(help_codes == codes, "siphon --help lists the same exit codes (%s)" % sorted(help_codes))

    # ---- what the loaded plugins declare
    rc, about_text = run(siphon, "about", "--format", "json")
    check(rc == 0, "siphon about --format json exits 0")
    about = json.loads(about_text)
    envs = set()

    def options_of(settings):
        props = dict(settings.get("properties", {}))
        for p in props.values():
            if isinstance(p, dict) and p.get("env"):
                envs.add(p["env"])
        return props

    host = options_of(about["settings"])
    per_stream_host = options_of(host.get("streams", {}).get("additionalProperties", {}))
    host_doc = tags(s5.get("HOST OPTIONS", ""))
    per_stream_doc = tags(s5.get("HOST OPTIONS/Per-stream host options", ""))
    for name in host:
        check(name in host_doc, "siphon-config(5) HOST OPTIONS documents '%s'" % name)
    for name in per_stream_doc:
        check(name in per_stream_host,
              "siphon-config(5) documents per-stream host option '%s', which siphon does not "
              "declare" % name)
    for name in per_stream_host:
        check(name in per_stream_doc,
              "siphon-config(5) Per-stream host options documents '%s'" % name)
    check_facts("siphon-config(5) HOST OPTIONS", tag_facts(s5.get("HOST OPTIONS", "")), host)
    for name in host_doc - per_stream_doc:
        check(name in host, "siphon-config(5) documents host option '%s', which siphon does not "
              "declare" % name)

    for src in about.get("sources", []):
        name = src["name"]
        section = "SOURCE: " + name.upper()
        body = "\n".join(v for k, v in s5.items() if k == section or k.startswith(section + "/"))
        check(body != "", "siphon-config(5) has a section %s" % section)
        declared = options_of(src["settings"])
        doc = tags(body)
        for o in declared:
            check(o in doc, "siphon-config(5) %s documents option '%s'" % (section, o))
        for o in doc:
            check(o in declared, "siphon-config(5) %s documents '%s', which no %s plugin declares"
                  % (section, o, name))
        check_facts("siphon-config(5) " + section, tag_facts(body), declared)
        section_envs = {p["env"] for p in declared.values() if isinstance(p, dict) and p.get("env")}
        check(envs_in(body) == section_envs,
              "siphon-config(5) %s names the environment variables %s (documented %s)"
              % (section, sorted(section_envs), sorted(envs_in(body))))
        streams_doc = words(s5.get(section + "/Streams", ""))
        groups = set()
        for st in src.get("streams", []):
            check(st["name"] in streams_doc,
                  "siphon-config(5) %s/Streams names stream '%s'" % (section, st["name"]))
            groups |= set(st.get("groups", []))
        for g in sorted(groups):
            check(g in streams_doc, "siphon-config(5) %s/Streams names group '%s'" % (section, g))

    sink_names = set()
    for sink in about.get("sinks", []):
        name = sink["name"]
        sink_names.add(name)
        key = "SINKS/" + name
        check(key in s5, "siphon-config(5) SINKS has a subsection '%s'" % name)
        declared = options_of(sink["settings"])
        doc = tags(s5.get(key, ""))
        for o in declared:
            check(o in doc, "siphon-config(5) SINKS/%s documents option '%s'" % (name, o))
        for o in doc:
            check(o in declared, "siphon-config(5) SINKS/%s documents '%s', which the sink does "
                  "not declare" % (name, o))
        check_facts("siphon-config(5) SINKS/" + name, tag_facts(s5.get(key, "")), declared)
        sink_envs = {p["env"] for p in declared.values() if isinstance(p, dict) and p.get("env")}
        check(envs_in(s5.get(key, "")) == sink_envs,
              "siphon-config(5) SINKS/%s names the environment variables %s (documented %s)"
              % (name, sorted(sink_envs), sorted(envs_in(s5.get(key, "")))))
    for key in s5:
        if key.startswith("SINKS/"):
            check(key[6:] in sink_names,
                  "siphon-config(5) documents sink '%s', which is not loaded" % key[6:])

    env_doc = words(s1.get("ENVIRONMENT", ""))
    for e in sorted(envs):
        check(e in env_doc, "siphon(1) ENVIRONMENT names %s" % e)

    # ---- siphon-plugins(7)
    installed = words(s7.get("INSTALLED PLUGINS", ""))
    for name in sink_names:
        check(name in installed, "siphon-plugins(7) INSTALLED PLUGINS names sink '%s'" % name)
    abi = about.get("plugin_abi", "")
    check(abi != "" and ("version " + abi) in unescape(man7) or "@ABI_MAJOR@" in man7,
          "siphon-plugins(7) states ABI %s" % abi)

    print("docs: %d passed, %d failed" % (passes, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

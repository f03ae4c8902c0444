#!/usr/bin/env python3
"""Rewrites every C# block in README.md and docs/*.md that follows a `<!-- snippet: name -->` line with the text of
`#region name` in docs/samples (which the solution builds), so the docs show code that compiles. DocsTests fails when
a block and its region differ, or when a C# block has no snippet marker."""
import glob, os, re, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def regions():
    found = {}
    for path in glob.glob(os.path.join(root, "docs", "samples", "**", "*.cs"), recursive=True):
        lines = open(path, encoding="utf-8").read().split("\n")
        i = 0
        while i < len(lines):
            m = re.match(r"\s*#region (\S+)", lines[i])
            if m:
                body = []
                i += 1
                while not re.match(r"\s*#endregion", lines[i]):
                    body.append(lines[i])
                    i += 1
                indent = min((len(l) - len(l.lstrip()) for l in body if l.strip()), default=0)
                found[m.group(1)] = "\n".join(l[indent:].rstrip() for l in body)
            i += 1
    return found

def main():
    snippets = regions()
    changed = 0
    for path in [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md"))):
        text = open(path, encoding="utf-8").read()
        def replace(m):
            name = m.group(1)
            if name not in snippets:
                sys.exit(f"{path}: no #region {name} in docs/samples")
            return f"<!-- snippet: {name} -->\n```csharp\n{snippets[name]}\n```"
        new = re.sub(r"<!-- snippet: (\S+) -->\n```csharp\n.*?\n```", replace, text, flags=re.S)
        if new != text:
            open(path, "w", encoding="utf-8").write(new)
            changed += 1
    print(f"{changed} file(s) updated")

main()

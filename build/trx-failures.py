#!/usr/bin/env python3
"""Prints each failed test of the given .trx files with its message and the top of its stack trace.

test.sh calls it before its summary line, so the failures are in the last lines of a long run's output (a CI log
often keeps only its tail)."""
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
MESSAGE_LINES = 20
STACK_LINES = 12

failed = 0
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        print(f"{path}: cannot read it: {error}")
        continue
    for result in root.iterfind(".//t:Results/t:UnitTestResult", NS):
        if result.get("outcome") != "Failed":
            continue
        failed += 1
        print(f"FAILED {result.get('testName')} ({result.get('duration')}) in {path.rsplit('/', 1)[-1]}")
        info = result.find("t:Output/t:ErrorInfo", NS)
        if info is None:
            continue
        for tag, keep in (("Message", MESSAGE_LINES), ("StackTrace", STACK_LINES)):
            text = info.findtext(f"t:{tag}", default="", namespaces=NS).strip()
            lines = text.splitlines()
            for line in lines[:keep]:
                print(f"    {line}")
            if len(lines) > keep:
                print(f"    ... {len(lines) - keep} more lines of {tag}")
if failed:
    print(f"{failed} failed test(s) above")

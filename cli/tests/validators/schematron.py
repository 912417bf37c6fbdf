#!/usr/bin/env python3
"""Runs compiled Schematron (ISO skeleton XSLT 2.0) under SaxonC-HE and
reports the failed assertions, for the conformance tests of the e-invoicing
examples (cli/tests/xml_conformance.rs).

    schematron.py check RULES.xslt FILE.xml...
        One JSON object per file on stdout:
        {"file": ..., "failed": [{"id", "flag", "location", "text"}, ...]}

    schematron.py unit-tests RULES.xslt DIR
        Runs the official unit tests shipped beside the rules (VEFA
        validator test sets: each <test> says which rules must succeed,
        fail as errors or fail as warnings on its document) and prints one
        JSON summary: {"tests", "passed", "failures": [...]}. This checks
        the harness itself: it must report what the rule authors expect.

Needs the `saxonche` package (pip install saxonche).
"""

import json
import pathlib
import sys
import xml.etree.ElementTree as ET

from saxonche import PySaxonProcessor

SVRL = "{http://purl.oclc.org/dsdl/svrl}"
VEFA = "{http://difi.no/xsd/vefa/validator/1.0}"


class Validator:
    def __init__(self, processor, stylesheet):
        xslt = processor.new_xslt30_processor()
        self.processor = processor
        self.executable = xslt.compile_stylesheet(stylesheet_file=str(stylesheet))
        if self.executable is None:
            raise RuntimeError(f"cannot compile {stylesheet}")

    def failed(self, xml_text):
        node = self.processor.parse_xml(xml_text=xml_text)
        report = self.executable.transform_to_string(xdm_node=node)
        if report is None:
            raise RuntimeError("the transformation gave no report")
        out = []
        for element in ET.fromstring(report).iter():
            if element.tag in (SVRL + "failed-assert", SVRL + "successful-report"):
                text = element.find(SVRL + "text")
                out.append(
                    {
                        "id": element.get("id") or "",
                        "flag": element.get("flag") or "fatal",
                        "location": element.get("location") or "",
                        "text": " ".join((text.text or "").split()) if text is not None else "",
                    }
                )
        return out


def check(processor, stylesheet, files):
    validator = Validator(processor, stylesheet)
    for name in files:
        text = pathlib.Path(name).read_text(encoding="utf-8")
        print(json.dumps({"file": name, "failed": validator.failed(text)}))


def unit_tests(processor, stylesheet, directory):
    validator = Validator(processor, stylesheet)
    tests = passed = 0
    failures = []
    for path in sorted(pathlib.Path(directory).glob("*.xml")):
        root = ET.parse(path).getroot()
        for index, test in enumerate(root.findall(VEFA + "test")):
            assertion = test.find(VEFA + "assert")
            documents = [child for child in test if child.tag != VEFA + "assert"]
            if assertion is None or len(documents) != 1:
                continue
            expect = {
                kind: {e.text.strip() for e in assertion.findall(VEFA + kind) if e.text}
                for kind in ("success", "error", "warning")
            }
            xml_text = ET.tostring(documents[0], encoding="unicode")
            got = validator.failed(xml_text)
            fatal = {f["id"] for f in got if f["flag"] == "fatal"}
            warned = {f["id"] for f in got if f["flag"] == "warning"}
            problems = []
            for rule in expect["success"]:
                if rule in fatal or rule in warned:
                    problems.append(f"{rule} should succeed but failed")
            for rule in expect["error"]:
                if rule not in fatal:
                    problems.append(f"{rule} should fail as an error")
            for rule in expect["warning"]:
                if rule not in warned and rule not in fatal:
                    problems.append(f"{rule} should fail as a warning")
            tests += 1
            if problems:
                failures.append({"file": path.name, "test": index, "problems": problems})
            else:
                passed += 1
    print(json.dumps({"tests": tests, "passed": passed, "failures": failures}))


def main(argv):
    if len(argv) < 4 or argv[1] not in ("check", "unit-tests"):
        print(__doc__, file=sys.stderr)
        return 2
    with PySaxonProcessor(license=False) as processor:
        if argv[1] == "check":
            check(processor, argv[2], argv[3:])
        else:
            unit_tests(processor, argv[2], argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/python3
"""Runs one exported CLI module the way 3D Slicer runs it, without Slicer.

Finds the module in FOLDER as Slicer's module factory does, parses its XML with SEM's rules,
builds the command line vtkSlicerCLIModuleLogic builds for the values given (node parameters
as node IDs, their files written where Slicer writes them), prints it, runs it while reading
its progress tags as Slicer does, and prints the return parameters Slicer would read back.
The rules are those of reference_slicer_adapter/python/tests/slicer_sem.py, each written
from the Slicer source it names.

Usage: run_like_slicer.py FOLDER MODULE WORK_DIR [NAME=VALUE ...] [--file NAME=PATH ...]
  NAME=VALUE   a parameter as the user set it on the form (node parameters: a node ID)
  --file N=P   the file Slicer writes for input node parameter N before the run
"""

import argparse
import os
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                                "reference_slicer_adapter", "python", "tests"))
import slicer_sem  # noqa: E402


def pairs(texts):
    result = {}
    for text in texts:
        name, separator, value = text.partition("=")
        if not separator:
            raise SystemExit(f"run_like_slicer: {text!r} is not NAME=VALUE")
        result[name] = value
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder")
    parser.add_argument("module")
    parser.add_argument("work_dir")
    parser.add_argument("values", nargs="*")
    parser.add_argument("--file", action="append", default=[])
    arguments = parser.parse_args()

    modules = slicer_sem.discover_cli_modules(arguments.folder, platform="linux")
    entry = modules.get(arguments.module)
    if entry is None:
        raise SystemExit(f"run_like_slicer: Slicer finds no module {arguments.module} in "
                         f"{arguments.folder}")
    xml, _ = slicer_sem.load_module_xml(entry)
    module = slicer_sem.parse_module(xml)
    command = slicer_sem.slicer_command_line(module, entry, pairs(arguments.values),
                                             arguments.work_dir)
    for name, path in pairs(arguments.file).items():
        shutil.copyfile(path, command.inputs[name])

    print(f"   module {module.title!r} ({module.category}), {len(module.parameters)} parameters")
    print("   Slicer's command line:")
    print("     " + shlex.join(command.argv))
    process = subprocess.Popen(command.argv, stdout=subprocess.PIPE)
    progress = slicer_sem.ProgressParser()
    shown = -1
    while True:
        chunk = os.read(process.stdout.fileno(), 4096)
        if not chunk:
            break
        for kind, value in progress.feed(chunk):
            if kind == "progress" and int(value * 4) > shown:  # a line per quarter
                shown = int(value * 4)
                print(f"   progress {value:4.0%}  {progress.message or ''}")
    status = process.wait()
    if status != 0:
        raise SystemExit(f"run_like_slicer: the module exited with status {status}")
    for name, path in command.outputs.items():
        print(f"   Slicer loads output {name} from {path} ({os.path.getsize(path)} bytes)")
    if command.return_parameter_file:
        returned = slicer_sem.read_return_parameters(command.return_parameter_file, module)
        for name, value in returned.items():
            print(f"   Slicer reads back {name} = {value}")


if __name__ == "__main__":
    main()

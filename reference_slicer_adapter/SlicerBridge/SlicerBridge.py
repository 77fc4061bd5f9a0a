"""SlicerBridge: run the processors of a SlicerBridge server on Slicer's data.

The module connects to a server (an address, or a local processor command it launches), lists
its processors, builds a form from the chosen processor's description (a node selector per
input and output, a widget per parameter with its constraints), and runs it with a progress bar
and a cancel button; outputs go into new nodes or the nodes chosen.

The network runs on the wrapped C++ core's own thread (``slicerbridgecore``); a QTimer on the
main thread calls ``ProcessEvents`` to apply what arrived, so MRML is only touched on the main
thread. Disconnecting, closing the scene and quitting Slicer make the server cancel the calls
still running (a dropped connection cancels them, spec [DROP-1]).

This file and SlicerBridgeLib/mrml_io.py are the only ones that import Slicer, Qt or CTK.
"""

import os
import shlex

import ctk
import numpy as np
import qt
import slicer
import vtk
from slicer.ScriptedLoadableModule import (ScriptedLoadableModule, ScriptedLoadableModuleLogic,
                                           ScriptedLoadableModuleTest,
                                           ScriptedLoadableModuleWidget)
from slicer.util import VTKObservationMixin

from SlicerBridgeLib import cli_modules, form
from SlicerBridgeLib.client import Bridge, BridgeError, read_token_file
from SlicerBridgeLib.conversions import ConversionError, ImageValue, matrix_from_vtk
from SlicerBridgeLib.mrml_io import MRMLIO, NodeError, ParentTransformError

EVENT_INTERVAL_MS = 5
SETTINGS_PREFIX = "SlicerBridge/"


class SlicerBridge(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "SlicerBridge"
        self.parent.categories = ["Developer Tools"]
        self.parent.dependencies = []
        self.parent.contributors = ["SlicerBridge contributors"]
        self.parent.helpText = (
            "Runs the processors of a SlicerBridge server (Python, C++ or any language, local or "
            "remote) on volumes, label maps, segmentations, models, transforms, markups and "
            "tables, with progress and cancel. Connect to an address such as 127.0.0.1:5000, or "
            "launch a local processor command that speaks SlicerBridge on its standard input "
            "and output.")
        self.parent.acknowledgementText = (
            "The SlicerBridge protocol and its reference implementations.")


class SlicerBridgeWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None):
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self.description = None
        self.call = None
        self.inputSelectors = {}
        self.outputSelectors = {}
        self.parameterWidgets = {}
        self.parameterBoxes = []

    # -- layout ---------------------------------------------------------------------------------

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        self.logic = SlicerBridgeLogic()
        settings = qt.QSettings()

        connection = ctk.ctkCollapsibleButton()
        connection.text = "Server"
        self.layout.addWidget(connection)
        connectionForm = qt.QFormLayout(connection)
        self.addressEdit = qt.QLineEdit(settings.value(SETTINGS_PREFIX + "Address",
                                                       "127.0.0.1:5000"))
        self.addressEdit.toolTip = "HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT or unix:PATH"
        connectionForm.addRow("Address:", self.addressEdit)
        self.commandEdit = qt.QLineEdit(settings.value(SETTINGS_PREFIX + "Command", ""))
        self.commandEdit.toolTip = ("A local processor command that speaks SlicerBridge on its "
                                    "standard input and output, e.g. "
                                    "'python -m slicerbridge serve --stdio'")
        connectionForm.addRow("Or command:", self.commandEdit)
        self.tokenEdit = qt.QLineEdit()
        self.tokenEdit.echoMode = qt.QLineEdit.Password
        self.tokenEdit.toolTip = "Token of a server that requires one (or a token file below)"
        connectionForm.addRow("Token:", self.tokenEdit)
        self.tokenFileEdit = ctk.ctkPathLineEdit()
        self.tokenFileEdit.filters = ctk.ctkPathLineEdit.Files
        self.tokenFileEdit.currentPath = settings.value(SETTINGS_PREFIX + "TokenFile", "")
        self.tokenFileEdit.toolTip = "A file whose first line is the server's token"
        connectionForm.addRow("Token file:", self.tokenFileEdit)
        self.caFileEdit = ctk.ctkPathLineEdit()
        self.caFileEdit.filters = ctk.ctkPathLineEdit.Files
        self.caFileEdit.currentPath = settings.value(SETTINGS_PREFIX + "CAFile", "")
        self.caFileEdit.toolTip = ("CA certificates (PEM) that sign a tls:// server's "
                                   "certificate; empty for the system's")
        connectionForm.addRow("CA certificates:", self.caFileEdit)
        buttons = qt.QHBoxLayout()
        self.connectButton = qt.QPushButton("Connect")
        self.launchButton = qt.QPushButton("Launch command")
        self.disconnectButton = qt.QPushButton("Disconnect")
        for button in (self.connectButton, self.launchButton, self.disconnectButton):
            buttons.addWidget(button)
        connectionForm.addRow(buttons)
        self.connectionLabel = qt.QLabel("Not connected")
        self.connectionLabel.wordWrap = True
        connectionForm.addRow(self.connectionLabel)

        processorBox = ctk.ctkCollapsibleButton()
        processorBox.text = "Processor"
        self.layout.addWidget(processorBox)
        processorLayout = qt.QVBoxLayout(processorBox)
        self.processorCombo = qt.QComboBox()
        processorLayout.addWidget(self.processorCombo)
        self.processorLabel = qt.QLabel()
        self.processorLabel.wordWrap = True
        processorLayout.addWidget(self.processorLabel)
        self.inputsBox = ctk.ctkCollapsibleGroupBox()
        self.inputsBox.title = "Inputs"
        self.inputsForm = qt.QFormLayout(self.inputsBox)
        processorLayout.addWidget(self.inputsBox)
        self.parametersLayout = qt.QVBoxLayout()
        processorLayout.addLayout(self.parametersLayout)
        self.outputsBox = ctk.ctkCollapsibleGroupBox()
        self.outputsBox.title = "Outputs"
        self.outputsForm = qt.QFormLayout(self.outputsBox)
        processorLayout.addWidget(self.outputsBox)

        options = ctk.ctkCollapsibleButton()
        options.text = "Options"
        options.collapsed = True
        self.layout.addWidget(options)
        optionsForm = qt.QFormLayout(options)
        self.spaceCombo = qt.QComboBox()
        self.spaceCombo.addItems(["RAS", "LPS"])
        self.spaceCombo.toolTip = ("Coordinate system the data travels in; results always come "
                                   "back in RAS")
        optionsForm.addRow("Send in:", self.spaceCombo)
        self.hardenCheck = qt.QCheckBox("Apply linear parent transforms to the data sent")
        self.hardenCheck.toolTip = ("Without this, inputs under a parent transform are refused. "
                                    "The scene is not changed either way.")
        optionsForm.addRow(self.hardenCheck)
        self.deadlineSpin = qt.QDoubleSpinBox()
        self.deadlineSpin.setRange(0, 7 * 24 * 3600)
        self.deadlineSpin.suffix = " s"
        self.deadlineSpin.specialValueText = "none"
        optionsForm.addRow("Deadline:", self.deadlineSpin)
        self.exportButton = qt.QPushButton("Export processors as CLI modules...")
        self.exportButton.toolTip = ("Writes every processor of this server into a folder as a "
                                     "CLI module and adds the folder to the module paths: after "
                                     "a restart each processor is a module of its own")
        optionsForm.addRow(self.exportButton)

        runRow = qt.QHBoxLayout()
        self.runButton = qt.QPushButton("Run")
        self.cancelButton = qt.QPushButton("Cancel")
        runRow.addWidget(self.runButton)
        runRow.addWidget(self.cancelButton)
        self.layout.addLayout(runRow)
        self.progressBar = qt.QProgressBar()
        self.progressBar.setRange(0, 1000)
        self.layout.addWidget(self.progressBar)
        self.statusLabel = qt.QLabel()
        self.statusLabel.wordWrap = True
        self.layout.addWidget(self.statusLabel)
        self.layout.addStretch(1)

        self.timer = qt.QTimer()
        self.timer.setInterval(EVENT_INTERVAL_MS)
        self.timer.connect("timeout()", self.logic.processEvents)

        self.connectButton.connect("clicked()", self.onConnect)
        self.launchButton.connect("clicked()", self.onLaunch)
        self.disconnectButton.connect("clicked()", self.onDisconnect)
        self.processorCombo.connect("currentIndexChanged(int)", self.onProcessorChanged)
        self.runButton.connect("clicked()", self.onRun)
        self.cancelButton.connect("clicked()", self.onCancel)
        self.exportButton.connect("clicked()", self.onExport)
        logicCore = self.logic.bridge.logic
        self.addObserver(logicCore, logicCore.ConnectedEvent, self.onConnected)
        self.addObserver(logicCore, logicCore.DisconnectedEvent, self.onDisconnected)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneClose)
        slicer.app.connect("aboutToQuit()", self.logic.disconnect)
        self.updateButtons()

    def cleanup(self):
        self.removeObservers()
        if self.logic is not None:
            self.logic.disconnect()
        self.timer.stop()

    # -- connection -----------------------------------------------------------------------------

    def onConnect(self):
        settings = qt.QSettings()
        settings.setValue(SETTINGS_PREFIX + "Address", self.addressEdit.text)
        settings.setValue(SETTINGS_PREFIX + "TokenFile", self.tokenFileEdit.currentPath)
        settings.setValue(SETTINGS_PREFIX + "CAFile", self.caFileEdit.currentPath)
        self.startConnection(lambda: self.logic.startConnect(
            self.addressEdit.text, self.tokenEdit.text, self.tokenFileEdit.currentPath,
            self.caFileEdit.currentPath))

    def onLaunch(self):
        qt.QSettings().setValue(SETTINGS_PREFIX + "Command", self.commandEdit.text)
        self.startConnection(lambda: self.logic.startLaunch(self.commandEdit.text))

    def startConnection(self, start):
        try:
            start()
        except (BridgeError, ValueError) as failure:
            self.connectionLabel.text = f"Cannot connect: {failure}"
            return
        self.connectionLabel.text = "Connecting..."
        self.timer.start()
        self.updateButtons()

    def onDisconnect(self):
        self.logic.disconnect()

    def onConnected(self, caller=None, event=None):
        info = self.logic.bridge.server_info()
        implementation = info.get("implementation", {})
        self.connectionLabel.text = (
            f"Connected to {implementation.get('name', 'a server')} "
            f"{implementation.get('version', '')}, protocol "
            f"{'.'.join(str(v) for v in info.get('version', []))}")
        self.processorCombo.blockSignals(True)
        self.processorCombo.clear()
        for description in self.logic.processors():
            self.processorCombo.addItem(description.get("title") or description["name"],
                                        description["name"])
        self.processorCombo.blockSignals(False)
        self.onProcessorChanged(self.processorCombo.currentIndex)
        dropped = self.logic.bridge.dropped_processors()
        if dropped:  # [CAT-12]: say why a processor the server has is missing
            self.statusLabel.text = "Left out, their descriptions break the protocol: " + "; ".join(
                f"{d['name'] or '#' + str(d['index'])} ({d['requirement']}: {d['reason']})"
                for d in dropped)
        self.updateButtons()

    def onDisconnected(self, caller=None, event=None):
        reason = self.logic.bridge.logic.GetLastErrorMessage()
        self.connectionLabel.text = "Not connected" + (f": {reason}" if reason else "")
        self.processorCombo.clear()
        self.setDescription(None)
        if self.logic.runningCalls() == 0:
            self.timer.stop()
        self.updateButtons()

    def onSceneClose(self, caller=None, event=None):
        # The nodes of running calls are going away: stop the remote work.
        self.logic.cancelAll()

    # -- the form -------------------------------------------------------------------------------

    def onProcessorChanged(self, index):
        name = self.processorCombo.itemData(index) if index >= 0 else None
        self.setDescription(self.logic.description(name) if name else None)

    def setDescription(self, description):
        for formLayout in (self.inputsForm, self.outputsForm):
            while formLayout.rowCount() > 0:
                formLayout.removeRow(0)  # deletes the row's label and widget
        for box in self.parameterBoxes:
            box.setParent(None)
            box.deleteLater()
        self.parameterBoxes = []
        self.inputSelectors, self.outputSelectors, self.parameterWidgets = {}, {}, {}
        self.description = description
        if description is None:
            self.processorLabel.text = ""
            return
        self.processorLabel.text = description.get("description", "")
        for spec in form.input_selectors(description):
            selector = self.nodeSelector(spec, noneDisplay="(none)")
            self.inputsForm.addRow(self.rowLabel(spec.label), selector)
            self.inputSelectors[spec.name] = (spec, selector)
        groups = {}
        for field in form.parameter_fields(description):
            if field.group not in groups:
                box = ctk.ctkCollapsibleGroupBox()
                box.title = field.group
                groups[field.group] = qt.QFormLayout(box)
                self.parametersLayout.addWidget(box)
                self.parameterBoxes.append(box)
            widget = self.parameterWidget(field)
            widget.toolTip = field.tooltip
            groups[field.group].addRow(self.rowLabel(field.label), widget)
            self.parameterWidgets[field.name] = (field, widget)
        for spec in form.output_selectors(description):
            selector = self.nodeSelector(spec, noneDisplay="(create new)")
            selector.addEnabled = True
            selector.renameEnabled = True
            self.outputsForm.addRow(self.rowLabel(spec.label), selector)
            self.outputSelectors[spec.name] = (spec, selector)
        self.updateButtons()

    @staticmethod
    def rowLabel(text):
        return qt.QLabel(text + ":")

    def nodeSelector(self, spec, noneDisplay):
        selector = slicer.qMRMLNodeComboBox()
        selector.nodeTypes = spec.node_classes
        selector.showChildNodeTypes = spec.show_child_types
        selector.noneEnabled = spec.optional
        selector.noneDisplay = noneDisplay
        selector.addEnabled = False
        selector.removeEnabled = False
        selector.setMRMLScene(slicer.mrmlScene)
        selector.toolTip = spec.tooltip
        if spec.optional:
            selector.setCurrentNode(None)
        return selector

    def parameterWidget(self, field):
        if field.widget == "checkbox":
            widget = qt.QCheckBox()
            widget.checked = bool(field.default)
        elif field.widget == "spinbox":
            widget = qt.QSpinBox()
            widget.setRange(int(max(field.minimum, form.INT_RANGE[0])),
                            int(min(field.maximum, form.INT_RANGE[1])))
            widget.singleStep = int(field.step)
            widget.value = int(field.default if field.default is not None else
                               max(field.minimum, min(0, field.maximum)))
        elif field.widget == "doublespinbox":
            widget = ctk.ctkDoubleSpinBox()
            widget.decimals = field.decimals
            widget.setRange(field.minimum, field.maximum)
            widget.singleStep = field.step
            widget.value = float(field.default if field.default is not None else
                                 max(field.minimum, min(0.0, field.maximum)))
        elif field.widget == "combobox":
            widget = qt.QComboBox()
            widget.addItems(list(field.choices))
            if field.default is not None:
                widget.setCurrentIndex(list(field.choices).index(field.default))
        elif field.widget == "vector":
            widget = qt.QLineEdit(form.format_vector(field.default or []))
            count = f"{field.length} values" if field.length else "values"
            widget.placeholderText = f"{count}, separated by commas"
        else:
            widget = qt.QLineEdit(str(field.default) if field.default is not None else "")
        return widget

    def parameterValues(self):
        values = {}
        for name, (field, widget) in self.parameterWidgets.items():
            if field.widget == "checkbox":
                values[name] = bool(widget.checked)
            elif field.widget in ("spinbox", "doublespinbox"):
                values[name] = widget.value
            elif field.widget == "combobox":
                values[name] = widget.currentText
            else:
                values[name] = widget.text
        return values

    # -- running --------------------------------------------------------------------------------

    def onRun(self):
        parameters, problems = form.collect_parameters(self.description, self.parameterValues())
        if problems:
            self.statusLabel.text = "\n".join(problems)
            return
        inputs = {name: selector.currentNode()
                  for name, (spec, selector) in self.inputSelectors.items()}
        missing = [spec.label for spec, selector in self.inputSelectors.values()
                   if not spec.optional and selector.currentNode() is None]
        if missing:
            self.statusLabel.text = "Choose: " + ", ".join(missing)
            return
        outputs = {name: selector.currentNode()
                   for name, (spec, selector) in self.outputSelectors.items()}
        try:
            self.call = self.logic.run(
                self.description, inputs, parameters, outputs,
                space=self.spaceCombo.currentText, harden=self.hardenCheck.checked,
                deadline=self.deadlineSpin.value or None,
                on_progress=self.onProgress, on_done=self.onDone)
        except (BridgeError, ConversionError, NodeError, ParentTransformError) as failure:
            self.statusLabel.text = str(failure)
            return
        self.progressBar.value = 0
        self.statusLabel.text = "Running..."
        self.timer.start()
        self.updateButtons()

    def onCancel(self):
        if self.call is not None:
            self.logic.cancel(self.call)
            self.statusLabel.text = "Cancelling..."

    def onProgress(self, fraction, message):
        self.progressBar.value = int(round(fraction * 1000))
        self.statusLabel.text = message or f"{fraction:.0%}"

    def onDone(self, call, nodes, failure):
        if call is self.call:
            self.call = None
        if failure is None:
            timings = call.timings
            self.progressBar.value = 1000
            self.statusLabel.text = (
                f"Done in {timings['round_trip']:.2f} s "
                f"(computing {timings.get('computing', 0):.2f} s): "
                + ", ".join(node.GetName() for node in nodes))
        else:
            self.statusLabel.text = str(failure)
        self.updateButtons()

    def onExport(self):
        directory = qt.QFileDialog.getExistingDirectory(
            slicer.util.mainWindow(), "Folder for the processors' CLI modules")
        if not directory:
            return
        try:
            report = self.logic.exportCliModules(directory, slicer.modules.slicerbridgeexport.path)
        except BridgeError as failure:
            self.statusLabel.text = f"Export failed: {failure}"
            return
        settings = slicer.app.revisionUserSettings()
        paths = cli_modules.with_module_path(
            settings.value(cli_modules.MODULE_PATHS_SETTING), directory)
        settings.setValue(cli_modules.MODULE_PATHS_SETTING, paths)
        self.statusLabel.text = (report.strip() + "\nThe folder is now an additional module "
                                 "path: restart Slicer to load the modules.")

    def updateButtons(self):
        state = self.logic.bridge.logic.GetConnectionState()
        connected = state == self.logic.bridge.logic.Connected
        self.connectButton.enabled = state == self.logic.bridge.logic.NotConnected
        self.launchButton.enabled = state == self.logic.bridge.logic.NotConnected
        self.disconnectButton.enabled = state != self.logic.bridge.logic.NotConnected
        self.runButton.enabled = connected and self.description is not None and \
            self.call is None
        self.cancelButton.enabled = self.call is not None
        self.exportButton.enabled = connected


class SlicerBridgeLogic(ScriptedLoadableModuleLogic):
    """Connects, reads the inputs from the scene, runs processors and writes their outputs.

    Usable without the widget, e.g. from the Python console::

        logic = SlicerBridgeLogic()
        logic.connect("127.0.0.1:5000")
        call = logic.run(logic.description("threshold"), {"volume": volumeNode},
                         {"lower": 100.0}, {}, on_done=lambda call, nodes, error: print(nodes))
        logic.wait(call)
    """

    def __init__(self):
        ScriptedLoadableModuleLogic.__init__(self)
        self.bridge = Bridge()
        self.running = {}
        self.peer = {}  # how the current connection was made, for exporting CLI modules

    def startConnect(self, address, token="", token_file="", tls_ca=""):
        if token_file:
            token = read_token_file(token_file)
        self.bridge.logic.SetToken(token)
        self.bridge.logic.SetTLSCertificateAuthorityFile(tls_ca)
        if not self.bridge.logic.StartConnect(address):
            raise BridgeError(self.bridge.logic.GetLastErrorMessage())
        self.peer = {"server": address, "token": token if not token_file else "",
                     "token_file": token_file, "tls_ca": tls_ca}

    def startLaunch(self, command):
        arguments = vtk.vtkStringArray()
        for argument in shlex.split(command):
            arguments.InsertNextValue(argument)
        if not self.bridge.logic.StartLaunch(arguments):
            raise BridgeError(self.bridge.logic.GetLastErrorMessage())
        self.peer = {"launch": command}

    def connect(self, address, token="", token_file="", tls_ca="", timeout=30.0):
        self.bridge.connect(address, token=token, token_file=token_file, tls_ca=tls_ca,
                            timeout=timeout)
        self.peer = {"server": address, "token": token if not token_file else "",
                     "token_file": token_file, "tls_ca": tls_ca}

    def launch(self, command, timeout=30.0):
        self.bridge.launch(command, timeout=timeout)
        self.peer = {"launch": command}

    def disconnect(self):
        """Closes the connection: the server cancels the calls still running [DROP-1]."""
        self.bridge.disconnect()

    def processors(self):
        return self.bridge.processors()

    def description(self, name):
        return self.bridge.description(name)

    def processEvents(self):
        self.bridge.process_events()

    def runningCalls(self):
        return len(self.running)

    def run(self, description, inputNodes, parameters, outputNodes, space="RAS", harden=False,
            deadline=None, on_progress=None, on_done=None):
        """Starts the processor of ``description`` on the nodes ``inputNodes`` (slot name ->
        node or None). When it finishes, its outputs are written into ``outputNodes`` (slot
        name -> node, or None for a new node), then ``on_done(call, nodes, error)`` runs with
        the nodes written, or the error (a CallError or the reason the outputs could not be
        written)."""
        io = MRMLIO(slicer.mrmlScene, slicer, "harden" if harden else "refuse")
        slots = {slot["name"]: slot for slot in description.get("inputs", [])}
        inputs = {name: io.read(node, slots[name])
                  for name, node in inputNodes.items() if node is not None}

        def finished(call):
            self.running.pop(call.id, None)
            nodes, failure = [], call.error
            if call.status == "Succeeded":
                try:
                    for slot in description.get("outputs", []):
                        if slot["name"] in call.output_names():
                            nodes.append(io.write(call.output(slot["name"]), slot,
                                                  outputNodes.get(slot["name"])))
                except (ConversionError, NodeError, ParentTransformError) as error:
                    failure = error
            if on_done is not None:
                on_done(call, nodes, failure)

        call = self.bridge.start(description["name"], inputs, parameters, space=space,
                                 deadline=deadline, on_progress=on_progress, on_done=finished)
        self.running[call.id] = call
        return call

    def wait(self, call, timeout=None):
        return self.bridge.wait(call, timeout)

    def cancel(self, call):
        self.bridge.cancel(call)

    def cancelAll(self):
        self.bridge.logic.CancelAll()

    def exportCliModules(self, folder, exporter):
        """Writes every processor of the current server into ``folder`` as CLI modules with
        the extension's exporter; returns what the exporter printed."""
        if not self.peer:
            raise BridgeError("not connected")
        return cli_modules.export_cli_modules(exporter, folder, **self.peer)


class SlicerBridgeTest(ScriptedLoadableModuleTest):
    """Runs inside Slicer. The round trip through a server needs one: set
    SLICERBRIDGE_TEST_SERVER to its address (e.g. a reference server started by the test
    harness); without it, that test is reported as skipped."""

    def setUp(self):
        slicer.mrmlScene.Clear(0)

    def runTest(self):
        self.setUp()
        self.test_MRMLRoundTrip()
        self.setUp()
        self.test_CliXml()
        self.setUp()
        self.test_ServerRoundTrip()

    @staticmethod
    def obliqueVolume():
        ijkToRAS = np.array([[0.0, -0.8, 0.0, 12.5], [0.9, 0.0, 0.3, -40.0],
                             [-0.3, 0.0, 0.9, 7.25], [0.0, 0.0, 0.0, 1.0]])
        voxels = (np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6) * 11) - 600
        node = slicer.util.addVolumeFromArray(voxels, ijkToRAS, "SlicerBridgeTestVolume")
        return node, voxels, ijkToRAS

    def test_MRMLRoundTrip(self):
        self.delayDisplay("Volume through mrml_io and back")
        node, voxels, ijkToRAS = self.obliqueVolume()
        io = MRMLIO(slicer.mrmlScene, slicer)
        value = io.read(node, {"name": "volume", "type": "image", "image_kind": "scalar"})
        self.assertTrue(np.array_equal(value.voxels, voxels))
        self.assertTrue(np.allclose(value.ijk_to_ras, ijkToRAS))
        written = io.write(value, {"name": "out", "type": "image"})
        matrix = vtk.vtkMatrix4x4()
        written.GetIJKToRASMatrix(matrix)
        self.assertTrue(np.allclose(matrix_from_vtk(matrix), ijkToRAS))
        self.assertTrue(np.array_equal(slicer.util.arrayFromVolume(written), voxels))
        labels = ImageValue((voxels > 0).astype(np.uint8) * 2, ijkToRAS, "label")
        segmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode")
        io.write(labels, {"name": "labels", "type": "image"}, segmentation)
        back = io.read(segmentation, {"name": "labels", "type": "image"})
        self.assertEqual(int((back.voxels == 1).sum()), int((voxels > 0).sum()))
        self.delayDisplay("Test passed")

    def test_CliXml(self):
        self.delayDisplay("The exporter is a CLI module whose XML Slicer parsed")
        self.assertEqual(slicer.modules.slicerbridgeexport.title, "SlicerBridge Export")
        self.delayDisplay("Test passed")

    def test_ServerRoundTrip(self):
        address = os.environ.get("SLICERBRIDGE_TEST_SERVER")
        if not address:
            self.delayDisplay("Skipped: SLICERBRIDGE_TEST_SERVER is not set")
            return
        self.delayDisplay(f"Echo through {address}")
        node, voxels, ijkToRAS = self.obliqueVolume()
        logic = SlicerBridgeLogic()
        logic.connect(address)
        results = []
        call = logic.run(logic.description("echo"), {"image": node}, {}, {}, space="LPS",
                         on_done=lambda call, nodes, failure: results.append((nodes, failure)))
        logic.wait(call, timeout=60)
        nodes, failure = results[0]
        self.assertIsNone(failure)
        matrix = vtk.vtkMatrix4x4()
        nodes[0].GetIJKToRASMatrix(matrix)
        self.assertTrue(np.allclose(matrix_from_vtk(matrix), ijkToRAS))
        self.assertTrue(np.array_equal(slicer.util.arrayFromVolume(nodes[0]), voxels))
        logic.disconnect()
        self.delayDisplay("Test passed")

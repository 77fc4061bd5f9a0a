/// \class vtkSlicerBridgeCall
/// \brief One invoke of a SlicerBridge processor: its inputs, parameters, progress and outputs.
///
/// Fill in the processor, inputs and parameters, hand the call to
/// vtkSlicerBridgeClientLogic::StartInvoke, then read the status, progress and outputs from the
/// logic's events (or from this object's own events, which carry no call data). Inputs are
/// referenced until StartInvoke, which converts them: changing a volume after StartInvoke does
/// not change what is sent.
///
/// Geometry always enters and leaves in RAS, as an IJK-to-RAS matrix beside the vtkImageData
/// (whose origin, spacing and direction are ignored on input and left at their defaults on
/// output). SetSpace("LPS") only changes what travels on the wire, for processors that want LPS.
#ifndef vtkSlicerBridgeCall_h
#define vtkSlicerBridgeCall_h

#include "vtkSlicerBridgeCoreModule.h"

#include <vtkCommand.h>
#include <vtkObject.h>

#include <memory>
#include <string>

class vtkImageData;
class vtkMatrix4x4;
class vtkPoints;
class vtkPolyData;
class vtkStringArray;
class vtkTable;
class vtkSlicerBridgeClientLogic;

class VTKSLICERBRIDGECORE_EXPORT vtkSlicerBridgeCall : public vtkObject
{
public:
  static vtkSlicerBridgeCall* New();
  vtkTypeMacro(vtkSlicerBridgeCall, vtkObject);
  void PrintSelf(ostream& os, vtkIndent indent) override;

  enum CallStatus
  {
    Idle = 0,     ///< not started
    Running = 1,  ///< sent, waiting for the server's answer
    Succeeded = 2,
    Failed = 3,
    Cancelled = 4 ///< the server answered `cancelled`, or the client closed the connection
  };

  /// Fired by the call itself, with no call data; the logic fires the same events with the call
  /// as call data.
  enum Events
  {
    ProgressEvent = vtkCommand::UserEvent + 5710,
    DoneEvent,
    ErrorEvent
  };

  //@{
  /// The processor to run.
  void SetProcessor(const std::string& name);
  std::string GetProcessor() const;
  //@}

  /// Parameters as a JSON object, e.g. `{"sigma": 1.5, "mode": "fast", "radii": [1, 2, 3]}`.
  /// Integers stay integers and numbers with a fraction or exponent are floats; the server
  /// converts an integer given for a float parameter. Returns false (and leaves the parameters
  /// unchanged) if the text is not a JSON object of parameter values.
  bool SetParametersJSON(const std::string& json);
  std::string GetParametersJSON() const;

  //@{
  /// Seconds the server has for the call (spec [INV-6]); negative (the default) for none.
  vtkSetMacro(Deadline, double);
  vtkGetMacro(Deadline, double);
  //@}

  //@{
  /// The physical space data travels in: "RAS" (default) or "LPS". Outputs always come back in
  /// RAS whatever space the server answers in. Returns false for any other name.
  bool SetSpace(const std::string& space);
  std::string GetSpace() const;
  //@}

  //@{
  /// Inputs, by the processor's input names. Adding a name again replaces the earlier input.
  /// `kind` is "scalar", "label" or "vector"; scalar and label images need one component.
  /// Returns false for a null object or an unknown kind.
  bool AddImageInput(const std::string& name, vtkImageData* image, vtkMatrix4x4* ijkToRAS,
    const std::string& kind = "scalar");
  /// Names a label value of the label image input `name` (segments of spec section 11.1).
  bool AddImageInputSegment(
    const std::string& name, long long labelValue, const std::string& segmentName,
    double red, double green, double blue);
  bool AddMeshInput(const std::string& name, vtkPolyData* mesh);
  /// A linear transform from child to parent (`to_parent`), in RAS.
  bool AddTransformInput(const std::string& name, vtkMatrix4x4* toParent);
  /// Points in RAS; `labels` may be null, else it holds one label per point.
  bool AddPointsInput(const std::string& name, vtkPoints* points, vtkStringArray* labels = nullptr);
  bool AddTableInput(const std::string& name, vtkTable* table);
  void RemoveAllInputs();
  int GetNumberOfInputs() const;
  //@}

  /// Status of the call (CallStatus).
  int GetStatus() const;
  /// "Idle", "Running", "Succeeded", "Failed" or "Cancelled".
  std::string GetStatusAsString() const;
  /// True once the call has its answer (succeeded, failed or cancelled).
  bool IsFinished() const;

  /// The id of the running or finished call on its connection (0 before StartInvoke).
  long long GetCallId() const;

  //@{
  /// The latest progress reported by the server: a fraction in [0, 1] that never decreases,
  /// and its optional message.
  double GetProgress() const;
  std::string GetProgressMessage() const;
  //@}

  //@{
  /// Why the call failed: the protocol's error code (spec section 8; 1000 and above are the
  /// processor's own), 0 when there is none, -1 for a failure of the connection itself. The
  /// details are a JSON object ("{}" when absent); for invalid_argument they name the offending
  /// input or parameter under "name".
  int GetErrorCode() const;
  std::string GetErrorName() const;
  std::string GetErrorMessage() const;
  std::string GetErrorDetailsJSON() const;
  //@}

  //@{
  /// The server's timings as a JSON object of seconds (receiving, queued, computing, sending;
  /// "{}" if it sent none), and the client's round trip in seconds.
  std::string GetTimingsJSON() const;
  double GetRoundTripTime() const;
  //@}

  //@{
  /// Outputs, once the call has succeeded. The type is "image", "mesh", "transform", "points",
  /// "table", or "" when there is no output of that name.
  int GetNumberOfOutputs() const;
  std::string GetOutputName(int index) const;
  std::string GetOutputType(const std::string& name) const;
  //@}

  /// The output getters fill the given objects and return false when there is no output of that
  /// name and type. The filled objects share the received values with the call (no copy).
  ///
  /// The image output `name`: voxels into `image` (origin 0, spacing 1, identity direction,
  /// extent from 0), geometry into `ijkToRAS`.
  bool GetImageOutput(const std::string& name, vtkImageData* image, vtkMatrix4x4* ijkToRAS) const;
  /// "scalar", "label" or "vector"; "" if `name` is not an image output.
  std::string GetImageOutputKind(const std::string& name) const;
  /// The segments of a label image output as a JSON array of {value, name, color}.
  std::string GetImageOutputSegmentsJSON(const std::string& name) const;
  /// The mesh output `name`, points in RAS, with its point and cell data arrays.
  bool GetMeshOutput(const std::string& name, vtkPolyData* mesh) const;
  /// The transform output `name`: child to parent, RAS.
  bool GetTransformOutput(const std::string& name, vtkMatrix4x4* toParent) const;
  /// The points output `name` in RAS, and its labels when `labels` is not null (emptied when the
  /// server sent none).
  bool GetPointsOutput(
    const std::string& name, vtkPoints* points, vtkStringArray* labels = nullptr) const;
  /// The table output `name`: numeric columns, strings as vtkStringArray, bools as vtkBitArray.
  bool GetTableOutput(const std::string& name, vtkTable* table) const;

protected:
  vtkSlicerBridgeCall();
  ~vtkSlicerBridgeCall() override;

  double Deadline = -1.0;

private:
  vtkSlicerBridgeCall(const vtkSlicerBridgeCall&) = delete;
  void operator=(const vtkSlicerBridgeCall&) = delete;

  // The logic reads the inputs and records the answer.
  friend class vtkSlicerBridgeClientLogic;
  struct vtkInternals;
  std::unique_ptr<vtkInternals> Internals;
};

#endif

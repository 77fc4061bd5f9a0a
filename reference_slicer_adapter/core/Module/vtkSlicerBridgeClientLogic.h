/// \class vtkSlicerBridgeClientLogic
/// \brief A SlicerBridge client for VTK applications such as 3D Slicer.
///
/// The logic connects to a processor server (an address such as "127.0.0.1:5000" or
/// "unix:/path", or a local processor command it starts and talks to over the command's
/// standard input and output), lists the server's processors and runs them on VTK data.
///
/// Network I/O runs on a worker thread owned by the logic. Nothing it receives reaches the caller
/// directly: it is queued, and ProcessEvents() — to be called periodically on the main thread (a
/// QTimer in Slicer, a loop in scripts) — applies it to the vtkSlicerBridgeCall objects and fires
/// the events below, so observers run on the main thread only.
///
/// Disconnect(), a dropped connection and the destruction of the logic all make the server
/// cancel the calls still running (spec [DROP-1]); a launched processor is terminated.
#ifndef vtkSlicerBridgeClientLogic_h
#define vtkSlicerBridgeClientLogic_h

#include "vtkSlicerBridgeCoreModule.h"

#include <vtkCommand.h>
#include <vtkObject.h>

#include <memory>
#include <string>

class vtkSlicerBridgeCall;
class vtkStringArray;

class VTKSLICERBRIDGECORE_EXPORT vtkSlicerBridgeClientLogic : public vtkObject
{
public:
  static vtkSlicerBridgeClientLogic* New();
  vtkTypeMacro(vtkSlicerBridgeClientLogic, vtkObject);
  void PrintSelf(ostream& os, vtkIndent indent) override;

  /// Events fired by ProcessEvents(), on the thread that calls it. The call events carry the
  /// vtkSlicerBridgeCall as call data (in Python, observe with CallDataType = VTK_OBJECT).
  enum Events
  {
    ConnectedEvent = vtkCommand::UserEvent + 5700, ///< handshake done, catalog received
    DisconnectedEvent, ///< the connection ended: failed to open, lost, or Disconnect()
    ProgressEvent,     ///< a call reported progress
    DoneEvent,         ///< a call succeeded
    ErrorEvent         ///< a call failed or was cancelled
  };

  enum ConnectionState
  {
    NotConnected = 0,
    Connecting = 1,
    Connected = 2
  };

  //@{
  /// Seconds a connection attempt may take, handshake and catalog included (default 30).
  vtkSetMacro(ConnectTimeout, double);
  vtkGetMacro(ConnectTimeout, double);
  //@}

  /// Token sent in the hello, for servers that require one (spec [SEC-3]). Empty for none.
  void SetToken(const std::string& token);

  /// CA certificates (a PEM file) that sign the certificate of a `tls://` server; empty for the
  /// system's store. The server's name is always checked against its certificate ([SEC-6]).
  void SetTLSCertificateAuthorityFile(const std::string& path);

  /// Starts connecting to `address` ("HOST:PORT", "tcp://HOST:PORT", "tls://HOST:PORT",
  /// "unix:PATH") and returns at
  /// once; ProcessEvents() later fires ConnectedEvent or DisconnectedEvent. Closes any earlier
  /// connection first. Returns false if the address cannot be parsed.
  bool StartConnect(const std::string& address);

  /// Starts the local processor command `arguments` (arguments[0] is searched in PATH) and talks
  /// to it over its standard input and output, the way MATLABBridge starts MATLAB. Returns at
  /// once, like StartConnect; false for an empty command.
  bool StartLaunch(vtkStringArray* arguments);

  //@{
  /// Blocking forms of StartConnect and StartLaunch: wait up to ConnectTimeout for the
  /// connection and fire its event before returning. Return true when connected.
  bool Connect(const std::string& address);
  bool Launch(vtkStringArray* arguments);
  //@}

  /// Closes the connection. Calls still running end as Cancelled (the server cancels them, spec
  /// [DROP-1]) and fire ErrorEvent; a launched processor is terminated.
  void Disconnect();

  /// ConnectionState.
  int GetConnectionState() const;
  bool IsConnected() const;

  /// Why the last connection attempt or connection failed, or the last StartInvoke was refused.
  std::string GetLastErrorMessage() const;

  /// The server's hello as JSON: {version, capabilities, limits, implementation}.
  std::string GetServerInfoJSON() const;

  //@{
  /// The catalog received on connecting (or by UpdateCatalog): as the JSON of the `catalog`
  /// result, {"processors": [description, ...]}; as processor names; one description as JSON
  /// ("" for an unknown name).
  std::string GetCatalogJSON() const;
  void GetProcessorNames(vtkStringArray* names) const;
  std::string GetProcessorDescriptionJSON(const std::string& name) const;
  //@}

  /// The descriptions the catalog left out because they break a rule of the spec's section 10
  /// ([CAT-12]): a JSON array of {index, name, requirement, reason}, so that a user learns why a
  /// processor is missing. Calls to them fail without reaching the server.
  std::string GetDroppedProcessorsJSON() const;

  /// Asks the server for its catalog again and waits up to ConnectTimeout. Returns false on
  /// failure (see GetLastErrorMessage).
  bool UpdateCatalog();

  /// Starts `call` and returns its id (> 0), or 0 when it cannot start: not connected, an input
  /// that cannot be converted, or (when the catalog describes the processor) inputs or parameters
  /// that the description rejects. A refused call is Failed with the reason in its error.
  long long StartInvoke(vtkSlicerBridgeCall* call);

  /// Asks the server to cancel call `callId` (spec [CANCEL-1]); the call still ends with exactly
  /// one answer: Cancelled, or its result if it finished first. Unknown ids are ignored.
  void Cancel(long long callId);

  /// Cancels every running call.
  void CancelAll();

  /// The running call of that id, or null.
  vtkSlicerBridgeCall* GetCall(long long callId) const;
  int GetNumberOfRunningCalls() const;

  /// Applies what the worker thread received and fires the events. Call it on the main thread.
  /// Returns the number of events fired.
  int ProcessEvents();

  /// Blocks until something is waiting for ProcessEvents() or `timeoutSeconds` pass. Returns
  /// true if something is waiting. For scripts and tests; a GUI polls ProcessEvents instead.
  bool WaitForEvents(double timeoutSeconds);

protected:
  vtkSlicerBridgeClientLogic();
  ~vtkSlicerBridgeClientLogic() override;

  double ConnectTimeout = 30.0;

private:
  vtkSlicerBridgeClientLogic(const vtkSlicerBridgeClientLogic&) = delete;
  void operator=(const vtkSlicerBridgeClientLogic&) = delete;

  bool WaitForConnection();
  void FinishCall(vtkSlicerBridgeCall* call, int status);

  struct vtkInternals;
  std::unique_ptr<vtkInternals> Internals;
};

#endif

#include "vtkSlicerBridgeClientLogic.h"

#include "vtkSlicerBridgeCall.h"
#include "vtkSlicerBridgeCallInternals.h"
#include "vtkSlicerBridgeConversions.h"

#include <slicerbridge/message/catalog.hpp>
#include <slicerbridge/message/hello.hpp>
#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/progress.hpp>

#include <slicerbridge/client.hpp>
#include <slicerbridge/transport/any_stream.hpp>
#include <slicerbridge/transport/connect.hpp>
#include <slicerbridge/transport/tls_client.hpp>
#include <slicerbridge/transport/pipe_stream.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <vtkObjectFactory.h>
#include <vtkStringArray.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace sb = slicerbridge;
namespace adapter = slicerbridge_adapter;

// Named, not anonymous: vtkInternals (external linkage) holds these, which GCC warns about
// (-Wsubobject-linkage) when this file is compiled inside a unity file.
namespace slicerbridge_adapter::client_logic
{

using client_type = sb::basic_client<sb::any_stream>;

/// What the worker thread hands to the main thread.
struct queued_event
{
  enum class kind
  {
    connected,
    connection_failed,
    progress,
    call_done
  };
  kind type = kind::connected;
  /// The connection it belongs to; events of an earlier connection are dropped.
  unsigned generation = 0;
  long long call_id = 0; // progress and call_done: the call it concerns
  double fraction = 0.0;
  std::string text;
  std::error_code error;
  sb::invoke_reply reply;
  sb::server_hello hello;
  std::vector<sb::processor_description> catalog;
  std::vector<sb::dropped_description> dropped; // descriptions left out of the catalog
};

/// Events from the worker, waiting for ProcessEvents(). Shared with the worker's handlers so that
/// a handler completing after the logic is gone still has somewhere to put its event.
class event_queue
{
public:
  void push(queued_event event)
  {
    {
      std::lock_guard<std::mutex> lock(this->mutex_);
      this->events_.push_back(std::move(event));
    }
    this->ready_.notify_all();
  }

  std::deque<queued_event> take_all()
  {
    std::lock_guard<std::mutex> lock(this->mutex_);
    return std::exchange(this->events_, {});
  }

  /// Waits until `done(events)` holds or `seconds` pass; returns its last value.
  template <class Predicate>
  bool wait(double seconds, Predicate done)
  {
    std::unique_lock<std::mutex> lock(this->mutex_);
    auto until = std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(std::max(0.0, std::min(seconds, 1e7))));
    return this->ready_.wait_until(lock, until, [&] { return done(this->events_); });
  }

private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<queued_event> events_;
};

/// One connection. Created by the main thread; `client`, `child` and `timer` are set and used on
/// the worker; the main thread uses `client` only after the connected event has been taken from
/// the queue (which orders it after the worker's writes).
struct connection
{
  unsigned generation = 0;
  std::shared_ptr<client_type> client;
  sb::child_process child;
  std::shared_ptr<sb::tls_client_context> tls; // outlives the client's TLS stream
  std::unique_ptr<asio::steady_timer> timer;
  bool timed_out = false;
};

/// Closes a connection on the worker: the server cancels what is still running ([DROP-1]).
void close_connection(const std::shared_ptr<connection>& conn)
{
  if (conn->timer)
  {
    conn->timer->cancel();
  }
  if (conn->client)
  {
    conn->client->close();
  }
  if (conn->child.running())
  {
    conn->child.terminate();
  }
}

std::string describe_failure(const std::error_code& ec)
{
  if (ec.category() == sb::category())
  {
    return ec.message() + " (" + std::to_string(ec.value()) + ")";
  }
  return ec.message();
}

sb::value json_value_of_hello(const sb::server_hello& hello)
{
  sb::value::array capabilities;
  for (const auto& capability : hello.capabilities)
  {
    capabilities.emplace_back(capability);
  }
  sb::value::map info{
    { "version", sb::value::array{ hello.version.major, hello.version.minor } },
    { "capabilities", std::move(capabilities) },
    { "limits", sb::to_value(hello.limits) },
  };
  if (hello.implementation)
  {
    info.emplace_back("implementation",
      sb::value::map{ { "name", hello.implementation->name },
        { "version", hello.implementation->version } });
  }
  return info;
}

} // namespace slicerbridge_adapter::client_logic

using namespace slicerbridge_adapter::client_logic;

struct vtkSlicerBridgeClientLogic::vtkInternals
{
  // Declared first so that it is destroyed last, after everything that uses it.
  asio::io_context IO;
  asio::executor_work_guard<asio::io_context::executor_type> Work{ IO.get_executor() };
  std::thread Worker;
  std::shared_ptr<event_queue> Queue = std::make_shared<event_queue>();

  // Main thread only.
  std::shared_ptr<connection> Current;
  unsigned Generation = 0;
  int State = vtkSlicerBridgeClientLogic::NotConnected;
  std::string Token;
  std::string CertificateAuthorityFile;
  std::string LastError;
  sb::server_hello Hello;
  std::vector<sb::processor_description> Catalog;
  std::vector<sb::dropped_description> Dropped;
  std::map<long long, vtkSmartPointer<vtkSlicerBridgeCall>> Running;

  vtkInternals()
  {
    this->Worker = std::thread([this] { this->IO.run(); });
  }

  /// Starts a connection whose stream `open` makes on the worker.
  void StartConnection(
    std::function<sb::any_stream(connection&, std::error_code&)> open, double timeout)
  {
    auto conn = std::make_shared<connection>();
    conn->generation = ++this->Generation;
    this->Current = conn;
    this->State = vtkSlicerBridgeClientLogic::Connecting;
    sb::client_options options;
    options.name = "slicerbridge-slicer";
    if (!this->Token.empty())
    {
      options.token = this->Token;
    }
    auto queue = this->Queue;
    auto fail = [queue, conn](std::string why) {
      queued_event event;
      event.type = queued_event::kind::connection_failed;
      event.generation = conn->generation;
      event.text = conn->timed_out ? "no answer from the server in time" : std::move(why);
      queue->push(std::move(event));
    };
    asio::post(this->IO,
      [this, conn, open = std::move(open), options = std::move(options), timeout, fail]() mutable {
        std::error_code ec;
        sb::any_stream stream = open(*conn, ec);
        if (ec)
        {
          return fail("cannot connect: " + (conn->tls ? conn->tls->explain(ec) : ec.message()));
        }
        conn->client = std::make_shared<client_type>(std::move(stream), std::move(options));
        conn->timer = std::make_unique<asio::steady_timer>(this->IO);
        conn->timer->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(timeout)));
        conn->timer->async_wait([conn](std::error_code waited) {
          if (!waited)
          {
            conn->timed_out = true;
            conn->client->close();
          }
        });
        conn->client->async_handshake([conn, fail, queue = this->Queue](std::error_code shook) {
          if (shook)
          {
            conn->timer->cancel();
            return fail("handshake failed: " + describe_failure(shook));
          }
          conn->client->async_catalog(
            [conn, fail, queue](std::error_code listed, std::vector<sb::processor_description> list) {
              conn->timer->cancel();
              if (listed)
              {
                return fail("catalog failed: " + describe_failure(listed));
              }
              queued_event event;
              event.type = queued_event::kind::connected;
              event.generation = conn->generation;
              event.hello = conn->client->server_info();
              event.catalog = std::move(list);
              event.dropped = conn->client->dropped_processors();
              queue->push(std::move(event));
            });
        });
      });
  }

  /// Forgets the current connection and closes it on the worker.
  void DropConnection()
  {
    ++this->Generation;
    this->State = vtkSlicerBridgeClientLogic::NotConnected;
    this->Catalog.clear();
    this->Hello = sb::server_hello();
    if (auto conn = std::exchange(this->Current, nullptr))
    {
      asio::post(this->IO, [conn] { close_connection(conn); });
    }
  }

  const sb::processor_description* FindDescription(const std::string& name) const
  {
    for (const auto& description : this->Catalog)
    {
      if (description.name == name)
      {
        return &description;
      }
    }
    return nullptr;
  }
};

vtkStandardNewMacro(vtkSlicerBridgeClientLogic);

vtkSlicerBridgeClientLogic::vtkSlicerBridgeClientLogic()
  : Internals(new vtkInternals)
{
}

vtkSlicerBridgeClientLogic::~vtkSlicerBridgeClientLogic()
{
  vtkInternals& internals = *this->Internals;
  // Calls still running end as Disconnect() ends them, without events: observers may be gone.
  for (auto& entry : internals.Running)
  {
    vtkSlicerBridgeCall::vtkInternals& call = *entry.second->Internals;
    call.Status = vtkSlicerBridgeCall::Cancelled;
    call.ErrorCode = static_cast<int>(sb::error::cancelled);
    call.ErrorName = "cancelled";
    call.ErrorMessage = "the client logic was destroyed; the server cancels the call";
  }
  internals.Running.clear();
  auto conn = std::exchange(internals.Current, nullptr);
  // Close on the worker, then stop it once the close has been carried out.
  asio::post(internals.IO, [conn, &io = internals.IO] {
    if (conn)
    {
      close_connection(conn);
    }
    asio::post(io, [&io] { io.stop(); });
  });
  internals.Work.reset();
  internals.Worker.join();
}

void vtkSlicerBridgeClientLogic::PrintSelf(ostream& os, vtkIndent indent)
{
  this->Superclass::PrintSelf(os, indent);
  static const char* const states[] = { "NotConnected", "Connecting", "Connected" };
  os << indent << "ConnectionState: " << states[this->Internals->State] << "\n";
  os << indent << "ConnectTimeout: " << this->ConnectTimeout << "\n";
  os << indent << "Processors: " << this->Internals->Catalog.size() << "\n";
  os << indent << "RunningCalls: " << this->Internals->Running.size() << "\n";
  os << indent << "LastErrorMessage: " << this->Internals->LastError << "\n";
}

void vtkSlicerBridgeClientLogic::SetToken(const std::string& token)
{
  this->Internals->Token = token;
}

void vtkSlicerBridgeClientLogic::SetTLSCertificateAuthorityFile(const std::string& path)
{
  this->Internals->CertificateAuthorityFile = path;
}

bool vtkSlicerBridgeClientLogic::StartConnect(const std::string& address)
{
  auto parsed = sb::address::parse(address);
  if (!parsed)
  {
    this->Internals->LastError = "not an address: " + address;
    return false;
  }
  this->Disconnect();
  auto executor = this->Internals->IO.get_executor();
  std::shared_ptr<sb::tls_client_context> tls;
  if (parsed->kind == sb::address::transport::tls)
  {
    std::optional<std::string> authorities;
    if (!this->Internals->CertificateAuthorityFile.empty())
    {
      authorities = this->Internals->CertificateAuthorityFile;
    }
    std::error_code ec;
    tls = std::make_shared<sb::tls_client_context>(parsed->host, authorities, ec);
    if (ec)
    {
      this->Internals->LastError =
        "cannot read the CA certificates in " + *authorities + ": " + ec.message();
      return false;
    }
  }
  this->Internals->StartConnection(
    [where = *parsed, executor, tls](connection& conn, std::error_code& ec) {
      conn.tls = tls;
      return sb::connect(executor, where, ec, tls ? &tls->context() : nullptr);
    },
    this->ConnectTimeout);
  return true;
}

bool vtkSlicerBridgeClientLogic::StartLaunch(vtkStringArray* arguments)
{
  if (arguments == nullptr || arguments->GetNumberOfValues() == 0)
  {
    this->Internals->LastError = "no processor command to launch";
    return false;
  }
  std::vector<std::string> argv;
  for (vtkIdType i = 0; i < arguments->GetNumberOfValues(); ++i)
  {
    argv.push_back(arguments->GetValue(i));
  }
  this->Disconnect();
  auto executor = this->Internals->IO.get_executor();
  this->Internals->StartConnection(
    [argv = std::move(argv), executor](connection& conn, std::error_code& ec) {
      auto launched = sb::launch_process(executor, argv, ec);
      conn.child = std::move(launched.process);
      return sb::any_stream(std::move(launched.stream));
    },
    this->ConnectTimeout);
  return true;
}

bool vtkSlicerBridgeClientLogic::Connect(const std::string& address)
{
  return this->StartConnect(address) && this->WaitForConnection();
}

bool vtkSlicerBridgeClientLogic::Launch(vtkStringArray* arguments)
{
  return this->StartLaunch(arguments) && this->WaitForConnection();
}

bool vtkSlicerBridgeClientLogic::WaitForConnection()
{
  unsigned generation = this->Internals->Generation;
  // The worker gives up after ConnectTimeout by itself; the margin covers its reporting.
  this->Internals->Queue->wait(this->ConnectTimeout + 5.0, [generation](const auto& events) {
    for (const auto& event : events)
    {
      if (event.generation == generation &&
        (event.type == queued_event::kind::connected ||
          event.type == queued_event::kind::connection_failed))
      {
        return true;
      }
    }
    return false;
  });
  this->ProcessEvents();
  if (this->Internals->State == Connecting && this->Internals->Generation == generation)
  {
    this->Internals->LastError = "no answer from the server in time";
    this->Disconnect();
  }
  return this->IsConnected();
}

void vtkSlicerBridgeClientLogic::Disconnect()
{
  vtkInternals& internals = *this->Internals;
  if (!internals.Current)
  {
    return;
  }
  internals.DropConnection();
  auto running = std::exchange(internals.Running, {});
  for (auto& entry : running)
  {
    vtkSlicerBridgeCall::vtkInternals& call = *entry.second->Internals;
    call.ErrorCode = static_cast<int>(sb::error::cancelled);
    call.ErrorName = "cancelled";
    call.ErrorMessage = "the client closed the connection; the server cancels the call";
    this->FinishCall(entry.second, vtkSlicerBridgeCall::Cancelled);
  }
  this->InvokeEvent(DisconnectedEvent);
}

int vtkSlicerBridgeClientLogic::GetConnectionState() const
{
  return this->Internals->State;
}

bool vtkSlicerBridgeClientLogic::IsConnected() const
{
  return this->Internals->State == Connected;
}

std::string vtkSlicerBridgeClientLogic::GetLastErrorMessage() const
{
  return this->Internals->LastError;
}

std::string vtkSlicerBridgeClientLogic::GetServerInfoJSON() const
{
  if (!this->IsConnected())
  {
    return "{}";
  }
  return adapter::ToJSON(json_value_of_hello(this->Internals->Hello));
}

std::string vtkSlicerBridgeClientLogic::GetCatalogJSON() const
{
  sb::catalog_result catalog;
  catalog.processors = this->Internals->Catalog;
  return adapter::ToJSON(sb::to_value(catalog));
}

std::string vtkSlicerBridgeClientLogic::GetDroppedProcessorsJSON() const
{
  sb::value::array dropped;
  for (const auto& entry : this->Internals->Dropped)
  {
    sb::value::map item;
    item.emplace_back("index", sb::value(static_cast<std::int64_t>(entry.index)));
    item.emplace_back("name", sb::value(entry.name));
    item.emplace_back("requirement", sb::value(entry.requirement));
    item.emplace_back("reason", sb::value(entry.reason));
    dropped.push_back(sb::value(std::move(item)));
  }
  return adapter::ToJSON(sb::value(std::move(dropped)));
}

void vtkSlicerBridgeClientLogic::GetProcessorNames(vtkStringArray* names) const
{
  if (names == nullptr)
  {
    return;
  }
  names->Initialize();
  for (const auto& description : this->Internals->Catalog)
  {
    names->InsertNextValue(description.name);
  }
}

std::string vtkSlicerBridgeClientLogic::GetProcessorDescriptionJSON(const std::string& name) const
{
  const sb::processor_description* description = this->Internals->FindDescription(name);
  return description == nullptr ? std::string() : adapter::ToJSON(sb::to_value(*description));
}

bool vtkSlicerBridgeClientLogic::UpdateCatalog()
{
  vtkInternals& internals = *this->Internals;
  if (!this->IsConnected())
  {
    internals.LastError = "not connected";
    return false;
  }
  struct outcome
  {
    std::error_code error;
    std::vector<sb::processor_description> catalog;
    std::vector<sb::dropped_description> dropped;
  };
  auto promise = std::make_shared<std::promise<outcome>>();
  auto future = promise->get_future();
  internals.Current->client->async_catalog(
    [promise, client = internals.Current->client](
      std::error_code ec, std::vector<sb::processor_description> list) {
      promise->set_value({ ec, std::move(list), client->dropped_processors() });
    });
  if (future.wait_for(std::chrono::duration<double>(this->ConnectTimeout)) !=
    std::future_status::ready)
  {
    internals.LastError = "catalog: no answer from the server in time";
    return false;
  }
  outcome result = future.get();
  if (result.error)
  {
    internals.LastError = "catalog failed: " + describe_failure(result.error);
    return false;
  }
  internals.Catalog = std::move(result.catalog);
  internals.Dropped = std::move(result.dropped);
  this->Modified();
  return true;
}

namespace
{

/// The data value of one input, converted and checked, in `space`.
sb::data_value ConvertInput(const vtkSlicerBridgeInput& input, sb::space space)
{
  sb::data_value converted;
  if (input.Type == "image")
  {
    sb::image image = adapter::ImageFromVTK(input.Image, input.Matrix, input.Kind);
    image.segments = input.Segments;
    converted = image.in_space(space);
  }
  else if (input.Type == "mesh")
  {
    converted = adapter::MeshFromVTK(input.Mesh).in_space(space);
  }
  else if (input.Type == "transform")
  {
    converted = adapter::TransformFromVTK(input.Matrix).in_space(space);
  }
  else if (input.Type == "points")
  {
    converted = adapter::PointsFromVTK(input.Points, input.Labels).in_space(space);
  }
  else
  {
    converted = adapter::TableFromVTK(input.Table);
  }
  std::string what;
  std::error_code invalid =
    std::visit([&what](const auto& held) { return held.validate(what); }, converted);
  if (invalid)
  {
    throw adapter::conversion_error(what);
  }
  return converted;
}

} // namespace

long long vtkSlicerBridgeClientLogic::StartInvoke(vtkSlicerBridgeCall* call)
{
  vtkInternals& internals = *this->Internals;
  if (call == nullptr)
  {
    internals.LastError = "StartInvoke: no call";
    return 0;
  }
  vtkSlicerBridgeCall::vtkInternals& state = *call->Internals;
  if (state.Status == vtkSlicerBridgeCall::Running)
  {
    internals.LastError = "StartInvoke: the call is already running";
    return 0;
  }
  state.ResetAnswer();
  constexpr int invalid_argument = static_cast<int>(sb::error::invalid_argument);
  auto refuse = [&](int code, const std::string& codeName, const std::string& message,
                  const std::string& name) {
    state.Status = vtkSlicerBridgeCall::Failed;
    state.ErrorCode = code;
    state.ErrorName = codeName;
    state.ErrorMessage = message;
    state.ErrorDetailsJSON =
      name.empty() ? "{}" : adapter::ToJSON(sb::value::map{ { "name", name } });
    internals.LastError = message;
    call->Modified();
    return 0LL;
  };
  if (!this->IsConnected())
  {
    return refuse(-1, "not_connected", "not connected", std::string());
  }

  sb::invoke_params params;
  params.processor = state.Processor;
  for (const auto& input : state.Inputs)
  {
    try
    {
      params.inputs.emplace_back(input.Name, ConvertInput(input, state.Space));
    }
    catch (const std::exception& failure)
    {
      return refuse(invalid_argument, "invalid_argument",
        "input '" + input.Name + "': " + failure.what(), input.Name);
    }
  }
  params.parameters = state.Parameters;
  if (call->GetDeadline() >= 0.0)
  {
    params.deadline = call->GetDeadline();
  }

  // Refuse locally what the server would refuse ([INV-2]), when the catalog knows the processor.
  if (const sb::processor_description* description = internals.FindDescription(params.processor))
  {
    sb::invoke_params checked = params;
    std::error_code ec;
    std::string offending;
    std::string what;
    sb::validate_invoke(*description, checked, ec, offending, what);
    if (ec)
    {
      return refuse(invalid_argument, "invalid_argument", what, offending);
    }
  }

  auto queue = internals.Queue;
  unsigned generation = internals.Generation;
  sb::invoke_options options;
  options.deadline = params.deadline;
  options.on_progress = [queue, generation](const sb::progress_params& progress) {
    queued_event event;
    event.type = queued_event::kind::progress;
    event.generation = generation;
    event.call_id = static_cast<long long>(progress.id);
    event.fraction = progress.fraction;
    event.text = progress.message.value_or(std::string());
    queue->push(std::move(event));
  };
  const sb::call_id id = internals.Current->client->reserve_call_id();
  options.id = id;
  internals.Current->client->async_invoke(std::move(params), std::move(options),
    [queue, generation, id](std::error_code ec, sb::invoke_reply reply) {
      queued_event event;
      event.type = queued_event::kind::call_done;
      event.generation = generation;
      event.call_id = static_cast<long long>(id);
      event.error = ec;
      event.reply = std::move(reply);
      queue->push(std::move(event));
    });

  state.Status = vtkSlicerBridgeCall::Running;
  state.CallId = static_cast<long long>(id);
  internals.Running[state.CallId] = call;
  call->Modified();
  return state.CallId;
}

void vtkSlicerBridgeClientLogic::Cancel(long long callId)
{
  vtkInternals& internals = *this->Internals;
  if (internals.Running.count(callId) != 0 && internals.Current && internals.Current->client)
  {
    internals.Current->client->cancel(static_cast<sb::call_id>(callId));
  }
}

void vtkSlicerBridgeClientLogic::CancelAll()
{
  std::vector<long long> ids;
  for (const auto& entry : this->Internals->Running)
  {
    ids.push_back(entry.first);
  }
  for (long long id : ids)
  {
    this->Cancel(id);
  }
}

vtkSlicerBridgeCall* vtkSlicerBridgeClientLogic::GetCall(long long callId) const
{
  auto found = this->Internals->Running.find(callId);
  return found == this->Internals->Running.end() ? nullptr : found->second.GetPointer();
}

int vtkSlicerBridgeClientLogic::GetNumberOfRunningCalls() const
{
  return static_cast<int>(this->Internals->Running.size());
}

bool vtkSlicerBridgeClientLogic::WaitForEvents(double timeoutSeconds)
{
  return this->Internals->Queue->wait(
    timeoutSeconds, [](const auto& events) { return !events.empty(); });
}

void vtkSlicerBridgeClientLogic::FinishCall(vtkSlicerBridgeCall* call, int status)
{
  vtkSmartPointer<vtkSlicerBridgeCall> keep(call);
  call->Internals->Status = status;
  call->Modified();
  bool succeeded = status == vtkSlicerBridgeCall::Succeeded;
  call->InvokeEvent(succeeded ? vtkSlicerBridgeCall::DoneEvent : vtkSlicerBridgeCall::ErrorEvent);
  this->InvokeEvent(succeeded ? DoneEvent : ErrorEvent, call);
}

int vtkSlicerBridgeClientLogic::ProcessEvents()
{
  vtkInternals& internals = *this->Internals;
  int fired = 0;
  for (auto& event : internals.Queue->take_all())
  {
    // Observers may disconnect or reconnect: check the generation for every event.
    if (event.generation != internals.Generation)
    {
      continue;
    }
    switch (event.type)
    {
      case queued_event::kind::connected:
        internals.State = Connected;
        internals.Hello = std::move(event.hello);
        internals.Catalog = std::move(event.catalog);
        internals.Dropped = std::move(event.dropped);
        internals.LastError.clear();
        this->Modified();
        this->InvokeEvent(ConnectedEvent);
        ++fired;
        break;
      case queued_event::kind::connection_failed:
        internals.LastError = event.text;
        internals.DropConnection();
        this->InvokeEvent(DisconnectedEvent);
        ++fired;
        break;
      case queued_event::kind::progress:
      {
        vtkSlicerBridgeCall* call = this->GetCall(event.call_id);
        if (call == nullptr)
        {
          break;
        }
        vtkSmartPointer<vtkSlicerBridgeCall> keep(call);
        call->Internals->Progress = event.fraction;
        call->Internals->ProgressMessage = std::move(event.text);
        call->InvokeEvent(vtkSlicerBridgeCall::ProgressEvent);
        this->InvokeEvent(ProgressEvent, call);
        ++fired;
        break;
      }
      case queued_event::kind::call_done:
      {
        auto found = internals.Running.find(event.call_id);
        if (found == internals.Running.end())
        {
          break;
        }
        vtkSmartPointer<vtkSlicerBridgeCall> call = found->second;
        internals.Running.erase(found);
        vtkSlicerBridgeCall::vtkInternals& state = *call->Internals;
        const sb::invoke_reply& reply = event.reply;
        state.RoundTrip = reply.round_trip;
        if (reply.server_timings)
        {
          state.TimingsJSON = adapter::ToJSON(sb::to_value(*reply.server_timings));
        }
        bool lost = false;
        int status = vtkSlicerBridgeCall::Succeeded;
        if (!event.error)
        {
          state.Result = std::move(event.reply.result);
          state.Progress = 1.0;
        }
        else if (event.error.category() == sb::category())
        {
          state.ErrorCode = event.error.value();
          state.ErrorName = sb::is_known_error_code(state.ErrorCode)
            ? std::string(sb::error_name(static_cast<sb::error>(state.ErrorCode)))
            : std::string();
          state.ErrorMessage = reply.error ? reply.error->message : event.error.message();
          if (reply.error && reply.error->details.is_map())
          {
            state.ErrorDetailsJSON = adapter::ToJSON(reply.error->details);
          }
          status = state.ErrorCode == static_cast<int>(sb::error::cancelled)
            ? vtkSlicerBridgeCall::Cancelled
            : vtkSlicerBridgeCall::Failed;
        }
        else
        {
          // Not an answer from the server: the connection itself failed.
          lost = true;
          state.ErrorCode = -1;
          state.ErrorName = "connection_lost";
          state.ErrorMessage = "connection lost: " + event.error.message();
          status = vtkSlicerBridgeCall::Failed;
        }
        if (lost)
        {
          internals.LastError = state.ErrorMessage;
        }
        this->FinishCall(call, status);
        ++fired;
        if (lost && internals.Generation == event.generation && internals.Current)
        {
          // The other running calls fail the same way; the worker's answers for them belong to
          // a dropped generation and are ignored.
          internals.DropConnection();
          auto running = std::exchange(internals.Running, {});
          for (auto& entry : running)
          {
            vtkSlicerBridgeCall::vtkInternals& other = *entry.second->Internals;
            other.ErrorCode = -1;
            other.ErrorName = "connection_lost";
            other.ErrorMessage = state.ErrorMessage;
            this->FinishCall(entry.second, vtkSlicerBridgeCall::Failed);
            ++fired;
          }
          this->InvokeEvent(DisconnectedEvent);
          ++fired;
        }
        break;
      }
    }
  }
  return fired;
}

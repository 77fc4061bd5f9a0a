// What the core's tests run against: an in-process SDK server with processors made for the
// adapter (echo that records what arrived on the wire, a gate that runs until cancelled, ...),
// a server process (the Python implementation or the C++ reference server), and an event pump.
#ifndef SLICERBRIDGE_ADAPTER_TEST_SUPPORT_HPP
#define SLICERBRIDGE_ADAPTER_TEST_SUPPORT_HPP

#include <slicerbridge/message/catalog.hpp>
#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/server.hpp>

#include "vtkSlicerBridgeCall.h"
#include "vtkSlicerBridgeClientLogic.h"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <vtkCallbackCommand.h>
#include <vtkNew.h>
#include <vtkSmartPointer.h>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace adapter_test
{

namespace sb = slicerbridge;

inline sb::slot make_slot(std::string name, sb::slot_type type, bool optional = true)
{
  sb::slot s;
  s.name = std::move(name);
  s.type = type;
  s.label = s.name;
  s.optional = optional;
  return s;
}

inline sb::processor_description make_description(std::string name)
{
  sb::processor_description d;
  d.name = std::move(name);
  d.version = "1.0";
  d.title = d.name;
  d.description = "adapter test processor";
  d.category = "Testing";
  return d;
}

/// What the processors saw, for checks of what travelled on the wire.
struct recorder
{
  std::mutex mutex;
  std::optional<sb::invoke_params> last_echo;
  std::promise<bool> gate_cancelled;
  std::atomic<int> gates_started{ 0 };

  sb::invoke_params echo_params()
  {
    std::lock_guard<std::mutex> lock(mutex);
    REQUIRE(last_echo.has_value());
    return *last_echo;
  }
};

/// An oblique LPS geometry, for the `lps_image` processor and the tests that check it.
inline const sb::matrix4 lps_image_matrix = { 0.0, -1.5, 0.0, 12.5, 0.8, 0.0, 0.6, -7.0, -0.6, 0.0,
  0.8, 30.0, 0.0, 0.0, 0.0, 1.0 };

inline void add_processors(sb::server& server, std::shared_ptr<recorder> seen)
{
  using sb::slot_type;
  {
    auto d = make_description("echo");
    for (auto [name, type] : { std::pair{ "image", slot_type::image },
           std::pair{ "mesh", slot_type::mesh }, std::pair{ "transform", slot_type::transform },
           std::pair{ "points", slot_type::points }, std::pair{ "table", slot_type::table } })
    {
      d.inputs.push_back(make_slot(name, type));
      d.outputs.push_back(make_slot(std::string(name) + "_out", type));
    }
    server.add({ d, [seen](sb::call_context&, const sb::invoke_params& params) {
                  {
                    std::lock_guard<std::mutex> lock(seen->mutex);
                    seen->last_echo = params;
                  }
                  sb::invoke_result result;
                  for (const auto& [name, data] : params.inputs)
                  {
                    result.outputs.emplace_back(name + "_out", data);
                  }
                  return result;
                } });
  }
  {
    auto d = make_description("gate");
    server.add({ d, [seen](sb::call_context& ctx, const sb::invoke_params&) -> sb::invoke_result {
                  ++seen->gates_started;
                  ctx.report_progress(0.25, "waiting to be cancelled");
                  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
                  while (!ctx.cancelled() && std::chrono::steady_clock::now() < until)
                  {
                    std::this_thread::sleep_for(std::chrono::milliseconds(2));
                  }
                  seen->gate_cancelled.set_value(ctx.cancelled());
                  throw sb::call_cancelled();
                } });
  }
  {
    auto d = make_description("parameters");
    sb::slot sigma = make_slot("sigma", slot_type::floating, false);
    sigma.minimum = 0.0;
    sigma.maximum = 10.0;
    sigma.default_value = 1.0;
    sb::slot mode = make_slot("mode", slot_type::enumeration, false);
    mode.choices = { "fast", "exact" };
    mode.default_value = std::string("fast");
    sb::slot radii = make_slot("radii", slot_type::int_vector, false);
    radii.length = 3;
    radii.default_value = std::vector<std::int64_t>{ 1, 1, 1 };
    sb::slot flag = make_slot("flag", slot_type::boolean, false);
    flag.default_value = false;
    d.parameters = { sigma, mode, radii, flag };
    d.outputs.push_back(make_slot("report", slot_type::table, false));
    server.add({ d, [](sb::call_context&, const sb::invoke_params& params) {
                  const auto& radiiValues = *params.parameter_as<std::vector<std::int64_t>>("radii");
                  std::int64_t sum = 0;
                  for (auto r : radiiValues)
                  {
                    sum += r;
                  }
                  sb::table report;
                  report.columns.push_back({ "sigma",
                    sb::typed_array::adopt(std::vector<double>{ *params.parameter_as<double>("sigma") }) });
                  report.columns.push_back(
                    { "mode", std::vector<std::string>{ *params.parameter_as<std::string>("mode") } });
                  report.columns.push_back(
                    { "radii_sum", sb::typed_array::adopt(std::vector<std::int64_t>{ sum }) });
                  report.columns.push_back(
                    { "flag", std::vector<bool>{ *params.parameter_as<bool>("flag") } });
                  sb::invoke_result result;
                  result.outputs.emplace_back("report", std::move(report));
                  return result;
                } });
  }
  {
    auto d = make_description("fail");
    server.add({ d, [](sb::call_context&, const sb::invoke_params&) -> sb::invoke_result {
                  throw sb::processor_error(
                    1234, "failed on purpose", sb::value::map{ { "name", "seed" } });
                } });
  }
  {
    auto d = make_description("lps_image");
    sb::slot out = make_slot("image", slot_type::image, false);
    out.image_kind = sb::image_kind::scalar;
    d.outputs.push_back(out);
    server.add({ d, [](sb::call_context&, const sb::invoke_params&) {
                  std::vector<std::uint16_t> voxels(2 * 3 * 4);
                  for (std::size_t i = 0; i < voxels.size(); ++i)
                  {
                    voxels[i] = static_cast<std::uint16_t>(100 + i);
                  }
                  sb::invoke_result result;
                  result.outputs.emplace_back("image",
                    sb::image::adopt(std::move(voxels), { 2, 3, 4 }, lps_image_matrix, sb::space::lps));
                  return result;
                } });
  }
}

/// An SDK server with the processors above on 127.0.0.1, run by its own I/O thread.
class in_process_server
{
public:
  explicit in_process_server(sb::server_options options = {})
  {
    options.workers = 4;
    server_ = std::make_unique<sb::server>(io_.get_executor(), std::move(options));
    add_processors(*server_, seen_);
    endpoint_ = server_->listen({ asio::ip::make_address("127.0.0.1"), 0 });
    thread_ = std::thread([this] { io_.run(); });
  }

  ~in_process_server()
  {
    auto closed = std::make_shared<std::promise<void>>();
    server_->shutdown(std::chrono::milliseconds(0), [closed] { closed->set_value(); });
    closed->get_future().wait_for(std::chrono::seconds(10));
    work_.reset();
    io_.stop();
    thread_.join();
    server_.reset();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(endpoint_.port()); }
  recorder& seen() { return *seen_; }

private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{ io_.get_executor() };
  std::shared_ptr<recorder> seen_ = std::make_shared<recorder>();
  std::unique_ptr<sb::server> server_;
  asio::ip::tcp::endpoint endpoint_;
  std::thread thread_;
};

/// A server process that prints `listening on HOST:PORT` first: the Python implementation
/// (`python3 -m slicerbridge serve`) or the C++ reference server.
class server_process
{
public:
  explicit server_process(std::vector<std::string> argv)
  {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::vector<char*> args;
    for (auto& arg : argv)
    {
      args.push_back(arg.data());
    }
    args.push_back(nullptr);
    int failed = ::posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    REQUIRE(failed == 0);
    output_ = ::fdopen(out[0], "r");
    char line[512] = {};
    REQUIRE(std::fgets(line, sizeof line, output_) != nullptr);
    std::string text(line);
    auto space = text.rfind(' ');
    REQUIRE(text.rfind("listening on ", 0) == 0);
    address_ = text.substr(space + 1, text.find_last_not_of("\r\n") - space);
  }

  ~server_process()
  {
    kill(SIGTERM);
    if (output_ != nullptr)
    {
      std::fclose(output_);
    }
  }

  /// Sends `signal` and reaps the process.
  void kill(int signal)
  {
    if (pid_ > 0)
    {
      ::kill(pid_, signal);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  const std::string& address() const { return address_; }

private:
  pid_t pid_ = -1;
  FILE* output_ = nullptr;
  std::string address_;
};

/// The Python implementation's command line, with its package on PYTHONPATH.
inline std::vector<std::string> python_server_command(std::vector<std::string> mode)
{
  ::setenv("PYTHONPATH", SLICERBRIDGE_TEST_PYTHONPATH, 1);
  std::vector<std::string> argv{ SLICERBRIDGE_TEST_PYTHON, "-m", "slicerbridge", "serve" };
  argv.insert(argv.end(), mode.begin(), mode.end());
  return argv;
}

/// Runs ProcessEvents until `done()` or `limit` passes (a bound on a hang, never a timing check).
template <class Done>
bool pump_until(vtkSlicerBridgeClientLogic* logic, Done done,
  std::chrono::seconds limit = std::chrono::seconds(30))
{
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done())
  {
    if (std::chrono::steady_clock::now() >= until)
    {
      return false;
    }
    logic->WaitForEvents(0.5);
    logic->ProcessEvents();
  }
  return true;
}

/// The events a logic fired, in order, with the call they concern.
class event_log
{
public:
  explicit event_log(vtkSlicerBridgeClientLogic* logic)
  {
    command_->SetClientData(this);
    command_->SetCallback([](vtkObject*, unsigned long id, void* self, void* data) {
      auto* log = static_cast<event_log*>(self);
      auto* call = static_cast<vtkSlicerBridgeCall*>(data);
      log->entries.push_back({ id, call, call != nullptr ? call->GetProgress() : 0.0 });
    });
    for (unsigned long id :
      { vtkSlicerBridgeClientLogic::ConnectedEvent, vtkSlicerBridgeClientLogic::DisconnectedEvent,
        vtkSlicerBridgeClientLogic::ProgressEvent, vtkSlicerBridgeClientLogic::DoneEvent,
        vtkSlicerBridgeClientLogic::ErrorEvent })
    {
      logic->AddObserver(id, command_);
    }
  }

  struct entry
  {
    unsigned long id;
    vtkSlicerBridgeCall* call;
    double progress;
  };
  std::vector<entry> entries;

  int count(unsigned long id) const
  {
    int n = 0;
    for (const auto& e : entries)
    {
      n += e.id == id ? 1 : 0;
    }
    return n;
  }

private:
  vtkNew<vtkCallbackCommand> command_;
};

} // namespace adapter_test

#endif

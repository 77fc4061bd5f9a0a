// The client logic: connecting and launching, the catalog, parameters, errors, progress, cancel
// and what happens to remote work when the connection goes away.
#include "support.hpp"

#include <vtkDataArray.h>
#include <vtkImageData.h>
#include <vtkMatrix4x4.h>
#include <vtkPointData.h>
#include <vtkStringArray.h>
#include <vtkTable.h>

#include <asio/ip/tcp.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>

using namespace adapter_test;
using Logic = vtkSlicerBridgeClientLogic;

namespace
{

std::vector<std::string> names_of(vtkStringArray* names)
{
  std::vector<std::string> result;
  for (vtkIdType i = 0; i < names->GetNumberOfValues(); ++i)
  {
    result.push_back(names->GetValue(i));
  }
  return result;
}

vtkSmartPointer<vtkStringArray> command(const std::vector<std::string>& argv)
{
  auto result = vtkSmartPointer<vtkStringArray>::New();
  for (const auto& arg : argv)
  {
    result->InsertNextValue(arg);
  }
  return result;
}

bool gate_saw_cancel(in_process_server& server)
{
  auto future = server.seen().gate_cancelled.get_future();
  return future.wait_for(std::chrono::seconds(30)) == std::future_status::ready && future.get();
}

/// Starts the gate processor and pumps until its first progress arrived (it is then running).
vtkSmartPointer<vtkSlicerBridgeCall> start_gate(Logic* logic)
{
  auto call = vtkSmartPointer<vtkSlicerBridgeCall>::New();
  call->SetProcessor("gate");
  REQUIRE(logic->StartInvoke(call) > 0);
  REQUIRE(pump_until(logic, [&] { return call->GetProgress() > 0.0 || call->IsFinished(); }));
  REQUIRE(call->GetStatus() == vtkSlicerBridgeCall::Running);
  return call;
}

} // namespace

TEST_CASE("connecting fires ConnectedEvent and lists the catalog as names and JSON [CAT-1] "
          "[CAT-6]")
{
  in_process_server server;
  vtkNew<Logic> logic;
  event_log events(logic);
  CHECK(logic->GetConnectionState() == Logic::NotConnected);
  REQUIRE(logic->StartConnect(server.address()));
  CHECK(logic->GetConnectionState() == Logic::Connecting);
  REQUIRE(pump_until(logic, [&] { return !events.entries.empty(); }));
  CHECK(events.entries.front().id == Logic::ConnectedEvent);
  CHECK(logic->IsConnected());

  vtkNew<vtkStringArray> names;
  logic->GetProcessorNames(names);
  auto listed = names_of(names);
  std::sort(listed.begin(), listed.end());
  CHECK(listed == std::vector<std::string>{ "echo", "fail", "gate", "lps_image", "parameters" });
  auto catalog = nlohmann::json::parse(logic->GetCatalogJSON());
  REQUIRE(catalog["processors"].size() == 5);
  std::vector<std::string> catalogNames;
  for (const auto& description : catalog["processors"])
  {
    catalogNames.push_back(description["name"]);
  }
  CHECK(catalogNames == names_of(names));
  auto description = nlohmann::json::parse(logic->GetProcessorDescriptionJSON("parameters"));
  CHECK(description["parameters"][1]["choices"] == nlohmann::json({ "fast", "exact" }));
  CHECK(description["parameters"][0]["maximum"] == 10.0);
  CHECK(logic->GetProcessorDescriptionJSON("nonexistent").empty());

  auto info = nlohmann::json::parse(logic->GetServerInfoJSON());
  CHECK(info["version"] == nlohmann::json({ 1, 1 }));
  CHECK(info["limits"]["max_in_flight"].get<int>() >= 1);
  auto& capabilities = info["capabilities"];
  CHECK(std::find(capabilities.begin(), capabilities.end(), "progress") != capabilities.end());

  REQUIRE(logic->UpdateCatalog());
  logic->GetProcessorNames(names);
  CHECK(names->GetNumberOfValues() == 5);
}

TEST_CASE("addresses that cannot be parsed or reached fail with a reason")
{
  vtkNew<Logic> logic;
  event_log events(logic);
  CHECK_FALSE(logic->StartConnect("no port here"));
  CHECK(logic->GetLastErrorMessage().find("not an address") != std::string::npos);

  // A port that was just free: nothing listens there.
  asio::io_context io;
  asio::ip::tcp::acceptor probe(io, { asio::ip::make_address("127.0.0.1"), 0 });
  auto port = probe.local_endpoint().port();
  probe.close();
  CHECK_FALSE(logic->Connect("127.0.0.1:" + std::to_string(port)));
  CHECK(logic->GetLastErrorMessage().find("cannot connect") != std::string::npos);
  CHECK(events.count(Logic::DisconnectedEvent) == 1);
  CHECK(logic->GetConnectionState() == Logic::NotConnected);
}

TEST_CASE("a peer that never answers the hello fails the connection after ConnectTimeout "
          "[HELLO-1]")
{
  asio::io_context io;
  asio::ip::tcp::acceptor silent(io, { asio::ip::make_address("127.0.0.1"), 0 });
  asio::ip::tcp::socket accepted(io);
  std::thread acceptor([&] { silent.accept(accepted); });
  vtkNew<Logic> logic;
  logic->SetConnectTimeout(0.3);
  CHECK_FALSE(logic->Connect("127.0.0.1:" + std::to_string(silent.local_endpoint().port())));
  CHECK(logic->GetLastErrorMessage().find("no answer") != std::string::npos);
  acceptor.join();
}

TEST_CASE("a server that requires a token refuses a client without one [SEC-3]")
{
  sb::server_options options;
  options.token = "0123456789abcdef0123456789abcdef";
  in_process_server server(options);
  vtkNew<Logic> logic;
  CHECK_FALSE(logic->Connect(server.address()));
  CHECK(logic->GetLastErrorMessage().find("(10)") != std::string::npos); // unauthorized
  logic->SetToken("0123456789abcdef0123456789abcdef");
  CHECK(logic->Connect(server.address()));
}

TEST_CASE("StartInvoke is refused when not connected")
{
  vtkNew<Logic> logic;
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("echo");
  CHECK(logic->StartInvoke(call) == 0);
  CHECK(call->GetStatus() == vtkSlicerBridgeCall::Failed);
  CHECK(call->GetErrorName() == "not_connected");
  CHECK(logic->StartInvoke(nullptr) == 0);
}

TEST_CASE("parameters given as JSON reach the processor typed per slot, absent ones take their "
          "default [INV-3]")
{
  in_process_server server;
  vtkNew<Logic> logic;
  REQUIRE(logic->Connect(server.address()));
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("parameters");
  REQUIRE(call->SetParametersJSON(R"({"sigma": 2, "radii": [1, 2, 4], "flag": true})"));
  REQUIRE(logic->StartInvoke(call) > 0);
  REQUIRE(pump_until(logic, [&] { return call->IsFinished(); }));
  REQUIRE(call->GetStatus() == vtkSlicerBridgeCall::Succeeded);
  vtkNew<vtkTable> report;
  REQUIRE(call->GetTableOutput("report", report));
  CHECK(report->GetValueByName(0, "sigma").ToDouble() == 2.0);
  CHECK(report->GetValueByName(0, "mode").ToString() == "fast");
  CHECK(report->GetValueByName(0, "radii_sum").ToInt() == 7);
  CHECK(report->GetValueByName(0, "flag").ToInt() == 1);
  auto timings = nlohmann::json::parse(call->GetTimingsJSON());
  CHECK(timings.contains("computing")); // [TIME-1]
  CHECK(call->GetRoundTripTime() > 0.0);
  CHECK(call->GetProgress() == 1.0);
}

TEST_CASE("parameters the description rejects are refused locally, naming the parameter "
          "[INV-2]")
{
  in_process_server server;
  vtkNew<Logic> logic;
  REQUIRE(logic->Connect(server.address()));
  struct refusal
  {
    const char* parameters;
    const char* name;
  };
  for (auto [parameters, name] : { refusal{ R"({"sigma": 11.5})", "sigma" },
         refusal{ R"({"mode": "slow"})", "mode" }, refusal{ R"({"radii": [1, 2]})", "radii" },
         refusal{ R"({"flag": 1})", "flag" }, refusal{ R"({"unknown": 1})", "unknown" } })
  {
    CAPTURE(parameters);
    vtkNew<vtkSlicerBridgeCall> call;
    call->SetProcessor("parameters");
    REQUIRE(call->SetParametersJSON(parameters));
    CHECK(logic->StartInvoke(call) == 0);
    CHECK(call->GetErrorCode() == 103);
    CHECK(nlohmann::json::parse(call->GetErrorDetailsJSON())["name"] == name);
  }
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("echo");
  int extent[6] = { 0, 0, 0, 0, 0, 0 };
  vtkNew<vtkImageData> image;
  image->SetExtent(extent);
  image->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
  vtkNew<vtkMatrix4x4> identity;
  REQUIRE(call->AddImageInput("volume", image, identity));
  CHECK(logic->StartInvoke(call) == 0);
  CHECK(nlohmann::json::parse(call->GetErrorDetailsJSON())["name"] == "volume");
}

TEST_CASE("SetParametersJSON accepts only an object of parameter values")
{
  vtkNew<vtkSlicerBridgeCall> call;
  vtkObject::GlobalWarningDisplayOff();
  CHECK_FALSE(call->SetParametersJSON("[1, 2]"));
  CHECK_FALSE(call->SetParametersJSON("{\"a\": "));
  CHECK_FALSE(call->SetParametersJSON(R"({"a": {"nested": 1}})"));
  CHECK_FALSE(call->SetParametersJSON(R"({"a": null})"));
  CHECK_FALSE(call->SetParametersJSON(R"({"a": [1, "mixed"]})"));
  CHECK_FALSE(call->SetSpace("RAI"));
  vtkObject::GlobalWarningDisplayOn();
  CHECK(call->GetParametersJSON() == "{}");
  REQUIRE(call->SetParametersJSON(R"({"a": [1.5, 2], "b": "text", "c": false})"));
  CHECK(nlohmann::json::parse(call->GetParametersJSON())["b"] == "text");
  CHECK(call->GetSpace() == "RAS");
}

TEST_CASE("an unknown processor is the server's unknown_processor [INV-1]")
{
  in_process_server server;
  vtkNew<Logic> logic;
  event_log events(logic);
  REQUIRE(logic->Connect(server.address()));
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("no_such_processor");
  REQUIRE(logic->StartInvoke(call) > 0);
  REQUIRE(pump_until(logic, [&] { return call->IsFinished(); }));
  CHECK(call->GetStatus() == vtkSlicerBridgeCall::Failed);
  CHECK(call->GetErrorCode() == 102);
  CHECK(call->GetErrorName() == "unknown_processor");
  CHECK(events.count(Logic::ErrorEvent) == 1);
  CHECK(events.count(Logic::DoneEvent) == 0);
  CHECK(logic->IsConnected());
}

TEST_CASE("a processor's own error reaches the call with its code, message and details [INV-5] "
          "[ERR-2]")
{
  in_process_server server;
  vtkNew<Logic> logic;
  REQUIRE(logic->Connect(server.address()));
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("fail");
  int callEvents = 0;
  vtkNew<vtkCallbackCommand> onError;
  onError->SetClientData(&callEvents);
  onError->SetCallback([](vtkObject*, unsigned long, void* count, void*) { ++*static_cast<int*>(count); });
  call->AddObserver(vtkSlicerBridgeCall::ErrorEvent, onError);
  REQUIRE(logic->StartInvoke(call) > 0);
  REQUIRE(pump_until(logic, [&] { return call->IsFinished(); }));
  CHECK(call->GetStatus() == vtkSlicerBridgeCall::Failed);
  CHECK(call->GetErrorCode() == 1234);
  CHECK(call->GetErrorName().empty());
  CHECK(call->GetErrorMessage() == "failed on purpose");
  CHECK(nlohmann::json::parse(call->GetErrorDetailsJSON())["name"] == "seed");
  CHECK(callEvents == 1);
  CHECK(logic->IsConnected()); // [INV-5]: the connection survives
}

TEST_CASE("progress, then Cancel: the call ends Cancelled exactly once and the processor saw the "
          "cancel [PROG-1] [CANCEL-1] [CANCEL-2]")
{
  in_process_server server;
  vtkNew<Logic> logic;
  event_log events(logic);
  REQUIRE(logic->Connect(server.address()));
  auto call = start_gate(logic);
  CHECK(call->GetProgress() == 0.25);
  CHECK(call->GetProgressMessage() == "waiting to be cancelled");
  CHECK(logic->GetCall(call->GetCallId()) == call);
  CHECK(logic->GetNumberOfRunningCalls() == 1);
  logic->Cancel(call->GetCallId());
  logic->Cancel(987654); // unknown ids are ignored [CANCEL-4]
  REQUIRE(pump_until(logic, [&] { return call->IsFinished(); }));
  CHECK(call->GetStatus() == vtkSlicerBridgeCall::Cancelled);
  CHECK(call->GetErrorCode() == 100);
  CHECK(gate_saw_cancel(server));
  CHECK(events.count(Logic::ErrorEvent) == 1);
  CHECK(events.count(Logic::DoneEvent) == 0);
  double last = 0.0;
  for (const auto& entry : events.entries)
  {
    if (entry.id == Logic::ProgressEvent)
    {
      CHECK(entry.call == call.GetPointer());
      CHECK(entry.progress >= last);
      last = entry.progress;
    }
  }
  CHECK(logic->GetNumberOfRunningCalls() == 0);
  CHECK(logic->GetCall(call->GetCallId()) == nullptr);
}

TEST_CASE("a deadline the processor cannot meet ends the call with deadline_exceeded [INV-6]")
{
  in_process_server server;
  vtkNew<Logic> logic;
  REQUIRE(logic->Connect(server.address()));
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("gate");
  call->SetDeadline(0.2);
  REQUIRE(logic->StartInvoke(call) > 0);
  REQUIRE(pump_until(logic, [&] { return call->IsFinished(); }));
  CHECK(call->GetStatus() == vtkSlicerBridgeCall::Failed);
  CHECK(call->GetErrorCode() == 101);
  CHECK(gate_saw_cancel(server));
}

TEST_CASE("Disconnect ends running calls as Cancelled and the server cancels them [DROP-1]")
{
  in_process_server server;
  vtkNew<Logic> logic;
  event_log events(logic);
  REQUIRE(logic->Connect(server.address()));
  auto call = start_gate(logic);
  logic->Disconnect();
  CHECK(call->GetStatus() == vtkSlicerBridgeCall::Cancelled);
  CHECK(events.count(Logic::ErrorEvent) == 1);
  CHECK(events.count(Logic::DisconnectedEvent) == 1);
  CHECK(logic->GetConnectionState() == Logic::NotConnected);
  CHECK(logic->GetCatalogJSON() == R"({"processors":[]})");
  CHECK(gate_saw_cancel(server));
  // Whatever the worker still reports belongs to the closed connection and is dropped.
  logic->WaitForEvents(0.2);
  logic->ProcessEvents();
  CHECK(events.count(Logic::ErrorEvent) == 1);
}

TEST_CASE("destroying the logic cancels the remote work [DROP-1]")
{
  in_process_server server;
  {
    vtkNew<Logic> logic;
    REQUIRE(logic->Connect(server.address()));
    start_gate(logic);
  }
  CHECK(gate_saw_cancel(server));
}

TEST_CASE("an observer may disconnect from inside an event")
{
  in_process_server server;
  vtkNew<Logic> logic;
  REQUIRE(logic->Connect(server.address()));
  vtkNew<vtkCallbackCommand> disconnect;
  disconnect->SetCallback([](vtkObject* caller, unsigned long, void*, void*) {
    static_cast<Logic*>(caller)->Disconnect();
  });
  logic->AddObserver(Logic::ProgressEvent, disconnect);
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("gate");
  REQUIRE(logic->StartInvoke(call) > 0);
  REQUIRE(pump_until(logic, [&] { return call->IsFinished(); }));
  CHECK(call->GetStatus() == vtkSlicerBridgeCall::Cancelled);
  CHECK_FALSE(logic->IsConnected());
  CHECK(gate_saw_cancel(server));
}

TEST_CASE("the Python implementation: round trip, progress and cancel over TCP, and a server "
          "that dies fails the calls and the connection")
{
  server_process python(python_server_command({ "--listen", "127.0.0.1:0" }));
  vtkNew<Logic> logic;
  event_log events(logic);
  REQUIRE(logic->Connect(python.address()));
  vtkNew<vtkStringArray> names;
  logic->GetProcessorNames(names);
  CHECK(names_of(names).front() == "echo");

  vtkNew<vtkImageData> image;
  image->SetDimensions(4, 3, 2);
  image->AllocateScalars(VTK_UNSIGNED_SHORT, 1);
  for (vtkIdType i = 0; i < 24; ++i)
  {
    image->GetPointData()->GetScalars()->SetComponent(i, 0, static_cast<double>(1000 + i));
  }
  const double oblique[16] = { 0.0, 0.0, -3.0, 10.0, 0.6, 0.8, 0.0, -2.0, -0.8, 0.6, 0.0, 55.5,
    0, 0, 0, 1 };
  vtkNew<vtkMatrix4x4> ijkToRAS;
  ijkToRAS->DeepCopy(oblique);
  vtkNew<vtkSlicerBridgeCall> echo;
  echo->SetProcessor("echo");
  echo->SetSpace("LPS");
  REQUIRE(echo->AddImageInput("image", image, ijkToRAS));
  REQUIRE(logic->StartInvoke(echo) > 0);
  REQUIRE(pump_until(logic, [&] { return echo->IsFinished(); }));
  REQUIRE(echo->GetStatus() == vtkSlicerBridgeCall::Succeeded);
  vtkNew<vtkImageData> received;
  vtkNew<vtkMatrix4x4> receivedMatrix;
  REQUIRE(echo->GetImageOutput("image_out", received, receivedMatrix));
  for (int i = 0; i < 16; ++i)
  {
    CHECK(receivedMatrix->GetElement(i / 4, i % 4) == oblique[i]);
  }
  CHECK(received->GetPointData()->GetScalars()->GetComponent(23, 0) == 1023.0);

  vtkNew<vtkSlicerBridgeCall> slow;
  slow->SetProcessor("slow");
  REQUIRE(slow->SetParametersJSON(R"({"seconds": 600, "steps": 60000})"));
  REQUIRE(logic->StartInvoke(slow) > 0);
  REQUIRE(pump_until(logic, [&] { return slow->GetProgress() > 0.0; }));
  logic->Cancel(slow->GetCallId());
  REQUIRE(pump_until(logic, [&] { return slow->IsFinished(); }));
  CHECK(slow->GetStatus() == vtkSlicerBridgeCall::Cancelled);

  REQUIRE(logic->StartInvoke(slow) > 0);
  REQUIRE(pump_until(logic, [&] { return slow->GetProgress() > 0.0; }));
  python.kill(SIGKILL);
  REQUIRE(pump_until(logic, [&] { return slow->IsFinished(); }));
  CHECK(slow->GetStatus() == vtkSlicerBridgeCall::Failed);
  CHECK(slow->GetErrorCode() == -1);
  CHECK(slow->GetErrorName() == "connection_lost");
  CHECK(events.count(Logic::DisconnectedEvent) == 1);
  CHECK_FALSE(logic->IsConnected());
}

TEST_CASE("a local processor command launched over stdio: catalog, call, and Disconnect ends it")
{
  vtkNew<Logic> logic;
  REQUIRE(logic->Launch(command(python_server_command({ "--stdio" }))));
  vtkNew<vtkStringArray> names;
  logic->GetProcessorNames(names);
  CHECK(names->GetNumberOfValues() >= 3);
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("fail");
  REQUIRE(call->SetParametersJSON(R"({"code": 4242, "message": "launched"})"));
  REQUIRE(logic->StartInvoke(call) > 0);
  REQUIRE(pump_until(logic, [&] { return call->IsFinished(); }));
  CHECK(call->GetErrorCode() == 4242);
  CHECK(call->GetErrorMessage() == "launched");
  logic->Disconnect();
  CHECK_FALSE(logic->IsConnected());

  CHECK_FALSE(logic->Launch(command({ "/nonexistent/processor-command" })));
  CHECK(logic->GetLastErrorMessage().find("cannot connect") != std::string::npos);
  vtkNew<vtkStringArray> empty;
  CHECK_FALSE(logic->StartLaunch(empty));
}

TEST_CASE("the C++ reference server: oblique image round trip in LPS, progress and cancel" *
  doctest::skip(std::string(SLICERBRIDGE_TEST_REFERENCE_SERVER).empty()))
{
  server_process reference({ SLICERBRIDGE_TEST_REFERENCE_SERVER, "--listen", "127.0.0.1:0" });
  vtkNew<Logic> logic;
  REQUIRE(logic->Connect(reference.address()));
  vtkNew<vtkImageData> image;
  image->SetDimensions(3, 3, 3);
  image->AllocateScalars(VTK_FLOAT, 1);
  for (vtkIdType i = 0; i < 27; ++i)
  {
    image->GetPointData()->GetScalars()->SetComponent(i, 0, 0.5 * static_cast<double>(i));
  }
  const double oblique[16] = { 0.0, 1.2, 0.0, -5.0, 0.0, 0.0, 2.0, 3.0, -0.7, 0.0, 0.0, 1.0, 0, 0,
    0, 1 };
  vtkNew<vtkMatrix4x4> ijkToRAS;
  ijkToRAS->DeepCopy(oblique);
  vtkNew<vtkSlicerBridgeCall> echo;
  echo->SetProcessor("echo");
  echo->SetSpace("LPS");
  REQUIRE(echo->AddImageInput("image", image, ijkToRAS));
  REQUIRE(logic->StartInvoke(echo) > 0);
  REQUIRE(pump_until(logic, [&] { return echo->IsFinished(); }));
  REQUIRE(echo->GetStatus() == vtkSlicerBridgeCall::Succeeded);
  vtkNew<vtkImageData> received;
  vtkNew<vtkMatrix4x4> receivedMatrix;
  REQUIRE(echo->GetImageOutput("image_out", received, receivedMatrix));
  for (int i = 0; i < 16; ++i)
  {
    CHECK(receivedMatrix->GetElement(i / 4, i % 4) == oblique[i]);
  }
  CHECK(received->GetPointData()->GetScalars()->GetComponent(26, 0) == 13.0);

  vtkNew<vtkSlicerBridgeCall> slow;
  slow->SetProcessor("slow");
  REQUIRE(slow->SetParametersJSON(R"({"seconds": 600, "steps": 60000})"));
  REQUIRE(logic->StartInvoke(slow) > 0);
  REQUIRE(pump_until(logic, [&] { return slow->GetProgress() > 0.0 || slow->IsFinished(); }));
  logic->Cancel(slow->GetCallId());
  REQUIRE(pump_until(logic, [&] { return slow->IsFinished(); }));
  CHECK(slow->GetStatus() == vtkSlicerBridgeCall::Cancelled);
}

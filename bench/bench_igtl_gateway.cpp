// slicerbridge-igtl, the OpenIGTLink gateway, between an OpenIGTLink 1.11 client and a
// SlicerBridge server whose processor returns its input:
//
//   client (igtl::ClientSocket) -> gateway process -> SlicerBridge server process -> back
//
//   --test echo --dims D --crc 0|1     IMAGE of D x D x D int16 voxels under device "bench"; a
//                                      streaming rule runs `echo` on it and the result comes
//                                      back under "bench_out". Timed as bench_igtl's echo is
//                                      (the client packs, CRC included, before every send);
//                                      --crc 1 makes the gateway and the client check CRCs.
//   --test stream --edge E --seconds T --warmup-seconds U
//                                      E x E x 1 uint8 frames, one in flight: frames per second
//                                      and the p50 round trip of a frame.
//
// Both servers are forked processes on 127.0.0.1; the gateway's peak memory is reported as the
// server's.
#include "bench_common.hpp"

#include "gateway.hpp"

#include <slicerbridge/server.hpp>

#include <asio/signal_set.hpp>
#include <igtlClientSocket.h>

#include <csignal>
#include <pthread.h>

namespace {

using namespace bench;
namespace sb = slicerbridge;

// The SlicerBridge server: `echo` returns its image `frame` as `result`, sharing the voxels.
void serve_processors(const server_process::announce_function& announce) {
    asio::io_context io;
    sb::server server(io.get_executor());
    sb::processor echo;
    echo.description.name = "echo";
    echo.description.version = "1";
    sb::slot in;
    in.name = "frame";
    in.type = sb::slot_type::image;
    sb::slot out = in;
    out.name = "result";
    echo.description.inputs.push_back(in);
    echo.description.outputs.push_back(out);
    echo.run = [](sb::call_context&, const sb::invoke_params& params) {
        return sb::invoke_result{{{"result", *params.input("frame")}}};
    };
    server.add(std::move(echo));
    auto bound = server.listen({asio::ip::make_address("127.0.0.1"), 0});
    asio::signal_set stop(io, SIGTERM);
    stop.async_wait([&](std::error_code, int) {
        server.shutdown(std::chrono::milliseconds(0), [&io] { io.stop(); });
    });
    announce("127.0.0.1:" + std::to_string(bound.port()));
    io.run();
}

// The gateway, with one rule, until SIGTERM.
void serve_gateway(const std::string& processors, bool check_crc,
                   const server_process::announce_function& announce) {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    auto client = sb::sync_client::connect(processors);
    sb::igtl_gateway::gateway_options options;
    options.port = 0;
    options.check_crc = check_crc;
    options.report_interval = std::chrono::milliseconds(0);
    options.log = [](const std::string&) {};
    options.max_message = 1ull << 31;
    options.rules.push_back(
        sb::igtl_gateway::parse_rule("device=bench processor=echo to=bench_out"));
    sb::igtl_gateway::gateway gateway(*client, options);
    gateway.start();
    announce(std::to_string(gateway.port()));
    int received = 0;
    sigwait(&signals, &received);
    gateway.stop();
}

void send_message(igtl::Socket& socket, igtl::MessageBase& message) {
    message.Pack();
    if (socket.Send(message.GetPackPointer(), message.GetPackSize()) == 0)
        throw std::runtime_error("igtl send failed");
}

igtl::ImageMessage::Pointer receive_image(igtl::Socket& socket, bool check_crc) {
    igtl::MessageHeader::Pointer header = igtl::MessageHeader::New();
    header->InitPack();
    if (socket.Receive(header->GetPackPointer(), header->GetPackSize()) != header->GetPackSize())
        throw std::runtime_error("igtl header truncated (did the gateway fail?)");
    header->Unpack();
    if (std::strcmp(header->GetDeviceType(), "IMAGE") != 0)
        throw std::runtime_error(std::string("expected IMAGE, got ") + header->GetDeviceType() +
                                 " under " + header->GetDeviceName());
    igtl::ImageMessage::Pointer message = igtl::ImageMessage::New();
    message->SetMessageHeader(header);
    message->AllocatePack();
    if (socket.Receive(message->GetPackBodyPointer(), message->GetPackBodySize()) !=
        message->GetPackBodySize())
        throw std::runtime_error("igtl body truncated");
    if (!(message->Unpack(check_crc ? 1 : 0) & igtl::MessageHeader::UNPACK_BODY))
        throw std::runtime_error("igtl body rejected");
    return message;
}

// Both servers, and an OpenIGTLink connection to the gateway.
class setup {
public:
    explicit setup(bool check_crc)
        : processors_(serve_processors), processors_endpoint_(processors_.endpoint()),
          gateway_([this, check_crc](const server_process::announce_function& announce) {
              serve_gateway(processors_endpoint_, check_crc, announce);
          }),
          socket_(igtl::ClientSocket::New()) {
        if (socket_->ConnectToServer("127.0.0.1", std::stoi(gateway_.endpoint())) != 0)
            throw std::runtime_error("igtl ConnectToServer failed");
    }

    igtl::Socket& socket() { return *socket_; }

    // Closes the connection and stops both servers; the gateway's peak RSS.
    std::uint64_t stop() {
        socket_->CloseSocket();
        gateway_.request_stop();
        std::uint64_t peak = gateway_.finish();
        processors_.request_stop();
        processors_.finish();
        return peak;
    }

private:
    server_process processors_;
    std::string processors_endpoint_;
    server_process gateway_;
    igtl::ClientSocket::Pointer socket_;
};

igtl::ImageMessage::Pointer make_image(std::array<int, 3> dims, int scalar_type) {
    igtl::ImageMessage::Pointer image = igtl::ImageMessage::New();
    int size[3] = {dims[0], dims[1], dims[2]};
    int offset[3] = {0, 0, 0};
    image->SetDimensions(size);
    image->SetSubVolume(size, offset);
    image->SetSpacing(1.0f, 1.0f, 1.0f);
    image->SetScalarType(scalar_type);
    image->SetDeviceName("bench");
    image->AllocateScalars();
    fill_pattern(image->GetScalarPointer(), static_cast<std::size_t>(image->GetImageSize()));
    return image;
}

void run_echo(const arguments& args) {
    bool check_crc = args.count("crc", 0) != 0;
    int edge = static_cast<int>(args.count("dims", 256));
    std::uint64_t warmup = args.count("warmup", 1);
    std::uint64_t iterations = args.count("iterations", 3);
    if (edge < 1 || 2.0 * edge * edge * edge > 2147483647.0 - 1024)
        throw std::invalid_argument("--dims must be in 1..1023");
    setup peers(check_crc);
    auto image = make_image({edge, edge, edge}, igtl::ImageMessage::TYPE_INT16);
    auto bytes = static_cast<std::uint64_t>(image->GetImageSize());
    igtl::ImageMessage::Pointer reply;
    std::vector<double> round_trips;
    for (std::uint64_t i = 0; i < warmup + iterations; ++i) {
        auto start = clock::now();
        send_message(peers.socket(), *image);
        reply = receive_image(peers.socket(), check_crc);
        auto end = clock::now();
        if (i >= warmup)
            round_trips.push_back(seconds_between(start, end));
    }
    bool verified = reply->GetImageSize() == image->GetImageSize() &&
                    std::memcmp(reply->GetScalarPointer(), image->GetScalarPointer(), bytes) == 0;
    reply = nullptr;
    std::uint64_t server_peak = peers.stop();
    nlohmann::json result = echo_result(round_trips, bytes, warmup, server_peak, verified);
    result["program"] = "bench_igtl_gateway";
    result["transport"] = "tcp";
    result["message"] = "IMAGE";
    result["dims"] = {edge, edge, edge};
    result["dtype"] = "int16";
    result["crc_checked"] = check_crc;
    print_result(result);
    if (!verified)
        throw std::runtime_error("the echoed voxels differ from the voxels sent");
}

void run_stream(const arguments& args) {
    int edge = static_cast<int>(args.count("edge", 256));
    double seconds = args.number("seconds", 1.0);
    double warmup_seconds = args.number("warmup-seconds", 0.2);
    if (edge < 1 || edge > 4096)
        throw std::invalid_argument("--edge must be in 1..4096");
    setup peers(true);
    auto frame = make_image({edge, edge, 1}, igtl::ImageMessage::TYPE_UINT8);
    std::vector<double> round_trips;
    auto phase_start = clock::now();
    bool warming = warmup_seconds > 0;
    std::uint64_t frames = 0;
    for (;;) {
        auto start = clock::now();
        send_message(peers.socket(), *frame);
        receive_image(peers.socket(), true);
        auto end = clock::now();
        double elapsed = seconds_between(phase_start, end);
        if (warming) {
            if (elapsed >= warmup_seconds) {
                warming = false;
                phase_start = clock::now();
            }
            continue;
        }
        ++frames;
        round_trips.push_back(seconds_between(start, end));
        if (elapsed >= seconds)
            break;
    }
    double elapsed = seconds_between(phase_start, clock::now());
    peers.stop();
    nlohmann::json result = {{"test", "throughput"},
                             {"program", "bench_igtl_gateway"},
                             {"clients", 1},
                             {"frames", frames},
                             {"seconds", elapsed},
                             {"calls_per_second", frames / elapsed},
                             {"p50_seconds", percentile(round_trips, 0.50)},
                             {"p99_seconds", percentile(round_trips, 0.99)},
                             {"frame", {edge, edge, 1}},
                             {"dtype", "uint8"},
                             {"in_flight", 1}};
    print_result(result);
}

} // namespace

int main(int argc, char** argv) {
    return guarded_main([&] {
        arguments args(argc, argv,
                       {"test", "dims", "crc", "warmup", "iterations", "timeout", "edge", "seconds",
                        "warmup-seconds", "clients", "batches", "transport"});
        arm_watchdog(args.count("timeout", 300));
        std::string test = args.text("test", "echo");
        if (test == "echo")
            run_echo(args);
        else if (test == "stream" || test == "throughput")
            run_stream(args);
        else
            throw std::invalid_argument("--test must be echo or stream");
    });
}

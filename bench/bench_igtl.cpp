// OpenIGTLink 1.11 (Debian's libopenigtlink), what Slicer's OpenIGTLinkIF and MATLABBridge speak,
// used the way its examples use it: igtl sockets, one message object per received message.
//
//   --test echo --dims D --crc 0|1   IMAGE of D x D x D int16 voxels to a server that unpacks it
//                                    and sends the same message object back; --crc 1 makes both
//                                    receivers check the CRC-64 (senders always compute it)
//   --test latency --bytes N         ping-pong of STRING messages: p50/p99 per batch
//
// The server is a forked process on 127.0.0.1 (igtl sockets set TCP_NODELAY themselves).
#include "bench_common.hpp"

#include <igtlClientSocket.h>
#include <igtlImageMessage.h>
#include <igtlMessageHeader.h>
#include <igtlServerSocket.h>
#include <igtlStringMessage.h>

namespace {

using namespace bench;

void send_message(igtl::Socket& socket, igtl::MessageBase& message) {
    message.Pack();
    if (socket.Send(message.GetPackPointer(), message.GetPackSize()) == 0)
        throw std::runtime_error("igtl send failed");
}

// Receives the next message, which must be of type `Message`; returns null when the peer closed
// the connection between messages.
template <class Message>
typename Message::Pointer receive_message(igtl::Socket& socket, bool check_crc) {
    igtl::MessageHeader::Pointer header = igtl::MessageHeader::New();
    header->InitPack();
    int got = socket.Receive(header->GetPackPointer(), header->GetPackSize());
    if (got == 0)
        return nullptr;
    if (got != header->GetPackSize())
        throw std::runtime_error("igtl header truncated");
    header->Unpack();
    typename Message::Pointer message = Message::New();
    if (std::strcmp(header->GetDeviceType(), message->GetDeviceType()) != 0)
        throw std::runtime_error(std::string("unexpected igtl message type ") +
                                 header->GetDeviceType());
    message->SetMessageHeader(header);
    message->AllocatePack();
    if (socket.Receive(message->GetPackBodyPointer(), message->GetPackBodySize()) !=
        message->GetPackBodySize())
        throw std::runtime_error("igtl body truncated");
    if (!(message->Unpack(check_crc ? 1 : 0) & igtl::MessageHeader::UNPACK_BODY))
        throw std::runtime_error("igtl body rejected (CRC mismatch or bad body)");
    return message;
}

template <class Message>
void serve(bool check_crc, const server_process::announce_function& announce) {
    igtl::ServerSocket::Pointer listener = igtl::ServerSocket::New();
    if (listener->CreateServer(0) < 0)
        throw std::runtime_error("igtl CreateServer failed");
    announce(std::to_string(listener->GetServerPort()));
    igtl::ClientSocket::Pointer connection = listener->WaitForConnection();
    if (!connection)
        throw std::runtime_error("igtl WaitForConnection failed");
    while (typename Message::Pointer message = receive_message<Message>(*connection, check_crc))
        send_message(*connection, *message);
    connection->CloseSocket();
}

template <class Message>
class client {
public:
    explicit client(bool check_crc)
        : server_([=](const server_process::announce_function& announce) {
              serve<Message>(check_crc, announce);
          }),
          socket_(igtl::ClientSocket::New()) {
        if (socket_->ConnectToServer("127.0.0.1", std::stoi(server_.endpoint())) != 0)
            throw std::runtime_error("igtl ConnectToServer failed");
    }

    igtl::Socket& socket() { return *socket_; }

    std::uint64_t stop_server() {
        socket_->CloseSocket();
        return server_.finish();
    }

private:
    server_process server_;
    igtl::ClientSocket::Pointer socket_;
};

void run_echo(const arguments& args) {
    bool check_crc = args.count("crc", 0) != 0;
    int edge = static_cast<int>(args.count("dims", 256));
    std::uint64_t warmup = args.count("warmup", 1);
    std::uint64_t iterations = args.count("iterations", 3);
    // OpenIGTLink 1.11 sizes messages with int.
    if (edge < 1 || 2.0 * edge * edge * edge > 2147483647.0 - 1024)
        throw std::invalid_argument("--dims must be in 1..1023");
    client<igtl::ImageMessage> peer(check_crc);

    igtl::ImageMessage::Pointer image = igtl::ImageMessage::New();
    int dims[3] = {edge, edge, edge};
    int offset[3] = {0, 0, 0};
    image->SetDimensions(dims);
    image->SetSubVolume(dims, offset);
    image->SetSpacing(1.0f, 1.0f, 1.0f);
    image->SetScalarTypeToInt16();
    image->SetDeviceName("bench");
    image->AllocateScalars();
    auto bytes = static_cast<std::uint64_t>(image->GetImageSize());
    fill_pattern(image->GetScalarPointer(), bytes);

    igtl::ImageMessage::Pointer reply;
    std::vector<double> round_trips;
    for (std::uint64_t i = 0; i < warmup + iterations; ++i) {
        auto start = clock::now();
        send_message(peer.socket(), *image);
        reply = receive_message<igtl::ImageMessage>(peer.socket(), check_crc);
        auto end = clock::now();
        if (!reply)
            throw std::runtime_error("the server closed the connection");
        if (i >= warmup)
            round_trips.push_back(seconds_between(start, end));
    }
    bool verified = reply->GetImageSize() == image->GetImageSize() &&
                    std::memcmp(reply->GetScalarPointer(), image->GetScalarPointer(), bytes) == 0;
    reply = nullptr;
    std::uint64_t server_peak = peer.stop_server();

    nlohmann::json result = echo_result(round_trips, bytes, warmup, server_peak, verified);
    result["program"] = "bench_igtl";
    result["transport"] = "tcp";
    result["message"] = "IMAGE";
    result["dims"] = {edge, edge, edge};
    result["dtype"] = "int16";
    result["crc_checked"] = check_crc;
    print_result(result);
    if (!verified)
        throw std::runtime_error("the echoed voxels differ from the voxels sent");
}

void run_latency(const arguments& args) {
    bool check_crc = args.count("crc", 1) != 0;
    const std::uint64_t bytes = message_bytes(args);
    if (bytes > 65535)
        throw std::invalid_argument("--bytes must be at most 65535 (a STRING's limit)");
    const auto [warmup, calls, batches] = latency_plan::read(args);
    client<igtl::StringMessage> peer(check_crc);

    std::string text(bytes, 'x');
    igtl::StringMessage::Pointer request = igtl::StringMessage::New();
    request->SetDeviceName("bench");
    request->SetString(text);
    igtl::StringMessage::Pointer reply;
    auto call = [&] {
        send_message(peer.socket(), *request);
        reply = receive_message<igtl::StringMessage>(peer.socket(), check_crc);
        if (!reply)
            throw std::runtime_error("the server closed the connection");
    };
    for (std::uint64_t i = 0; i < warmup; ++i)
        call();
    std::vector<std::vector<double>> samples(batches);
    for (auto& batch : samples) {
        batch.reserve(calls);
        for (std::uint64_t i = 0; i < calls; ++i) {
            auto start = clock::now();
            call();
            batch.push_back(seconds_between(start, clock::now()));
        }
    }
    if (text != reply->GetString())
        throw std::runtime_error("the echoed string differs from the string sent");
    reply = nullptr;
    peer.stop_server();

    nlohmann::json result = latency_result(samples, warmup);
    result["bytes"] = bytes;
    result["program"] = "bench_igtl";
    result["transport"] = "tcp";
    result["message"] = "STRING";
    result["crc_checked"] = check_crc;
    print_result(result);
}

} // namespace

int main(int argc, char** argv) {
    return bench::guarded_main([&] {
        bench::arguments args(argc, argv,
                              {"test", "crc", "dims", "bytes", "warmup", "iterations", "calls",
                               "batches", "timeout"});
        bench::arm_watchdog(args.count("timeout", 600));
        std::string test = args.text("test", "echo");
        if (test == "echo")
            run_echo(args);
        else if (test == "latency")
            run_latency(args);
        else
            throw std::invalid_argument("--test must be echo or latency");
    });
}

// The asynchronous client with callbacks on one io_context: handshake, describe, a call with
// progress that is cancelled half way, then an orderly goodbye. Every step starts from the
// previous one's completion handler; nothing blocks.
//
//   cpp17_async_callbacks HOST:PORT
//
// Works against cpp17_minimal_server (add_constant) and the reference server (slow).

#include <slicerbridge/client.hpp>
#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/progress.hpp>
#include <slicerbridge/transport/any_stream.hpp>
#include <slicerbridge/transport/connect.hpp>

#include <asio/io_context.hpp>

#include <iostream>
#include <memory>

namespace sb = slicerbridge;

/// The steps of the session, each started by the completion of the one before.
class session : public std::enable_shared_from_this<session> {
public:
    explicit session(sb::any_stream stream) : client_(std::move(stream)) {}

    void start() {
        client_.async_handshake([self = shared_from_this()](std::error_code ec) {
            if (self->failed("handshake", ec)) {
                return;
            }
            self->list();
        });
    }

    int status() const { return status_; }

private:
    void list() {
        client_.async_catalog([self = shared_from_this()](
                                  std::error_code ec, std::vector<sb::processor_description> all) {
            if (self->failed("catalog", ec)) {
                return;
            }
            for (const auto& d : all) {
                if (d.name == "slow") {
                    self->call_slow();
                    return;
                }
            }
            self->call_add_constant();
        });
    }

    // Against the reference server: a 10 s call, cancelled once it reports 30 %.
    void call_slow() {
        sb::invoke_params params;
        params.processor = "slow";
        params.parameters.emplace_back("seconds", 10.0);
        sb::invoke_options options;
        id_ = client_.reserve_call_id(); // known now, whatever the completion token
        options.id = id_;
        options.on_progress = [self = shared_from_this()](const sb::progress_params& p) {
            std::cout << "slow: " << static_cast<int>(p.fraction * 100) << "%\n";
            if (p.fraction >= 0.3 && !self->cancel_sent_) {
                self->cancel_sent_ = true;
                std::cout << "cancelling\n";
                self->client_.cancel(self->id_);
            }
        };
        client_.async_invoke(std::move(params), std::move(options),
                             [self = shared_from_this()](std::error_code ec, sb::invoke_reply) {
                                 // A cancelled call still gets exactly one answer.
                                 std::cout << "slow answered: " << ec.message() << "\n";
                                 self->status_ = ec == sb::error::cancelled ? 0 : 1;
                                 self->finish();
                             });
    }

    // Against cpp17_minimal_server: one call on a small volume.
    void call_add_constant() {
        sb::invoke_params params;
        params.processor = "add_constant";
        params.inputs.emplace_back(
            "volume", sb::image::adopt(std::vector<float>(16 * 16 * 16, 1.0f), {16, 16, 16}));
        params.parameters.emplace_back("constant", 41.0);
        client_.async_invoke(std::move(params), {},
                             [self = shared_from_this()](std::error_code ec, sb::invoke_reply reply) {
                                 if (self->failed("add_constant", ec)) {
                                     return;
                                 }
                                 const auto* out = reply.result.output_as<sb::image>("result");
                                 std::cout << "first voxel: " << out->voxels<float>()[0] << "\n";
                                 self->status_ = out->voxels<float>()[0] == 42.0f ? 0 : 1;
                                 self->finish();
                             });
    }

    void finish() {
        client_.async_goodbye([self = shared_from_this()](std::error_code ec) {
            self->failed("goodbye", ec);
        });
    }

    bool failed(const char* step, std::error_code ec) {
        if (ec) {
            std::cerr << step << " failed: " << ec.message() << "\n";
            status_ = 1;
        }
        return static_cast<bool>(ec);
    }

    sb::basic_client<sb::any_stream> client_;
    sb::call_id id_ = 0;
    bool cancel_sent_ = false;
    int status_ = 1;
};

int main(int argc, char** argv) {
    const auto where = argc == 2 ? sb::address::parse(argv[1]) : std::nullopt;
    if (!where) {
        std::cerr << "usage: cpp17_async_callbacks HOST:PORT|unix:PATH\n";
        return 2;
    }
    asio::io_context io;
    std::error_code ec;
    auto stream = sb::connect(io.get_executor(), *where, ec);
    if (ec) {
        std::cerr << "cannot connect: " << ec.message() << "\n";
        return 1;
    }
    auto s = std::make_shared<session>(std::move(stream));
    s->start();
    io.run(); // returns once the goodbye has closed the connection
    return s->status();
}

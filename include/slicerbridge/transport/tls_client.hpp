#ifndef SLICERBRIDGE_TRANSPORT_TLS_CLIENT_HPP
#define SLICERBRIDGE_TRANSPORT_TLS_CLIENT_HPP

// The TLS side of a client ([SEC-6]): a context that verifies the server's certificate chain
// (against given CA certificates or the system's store) and its name, and a failed handshake
// explained in words a user can act on.

#if !defined(SLICERBRIDGE_TLS)
#error "transport/tls_client.hpp needs SLICERBRIDGE_TLS and OpenSSL (slicerbridge::tls)"
#endif

#include <asio/error.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/error.hpp>
#include <asio/ssl/host_name_verification.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>

#include <openssl/x509_vfy.h>

namespace slicerbridge {

class tls_client_context {
public:
    /// Verifies the server's certificate against the PEM certificates in `ca_file`, or the
    /// system's store when there is none, and its name against `host`. An unreadable `ca_file`
    /// sets `ec`.
    tls_client_context(const std::string& host, const std::optional<std::string>& ca_file,
                       std::error_code& ec)
        : context_(asio::ssl::context::tls_client), failure_(std::make_shared<failure>()),
          host_(host) {
        context_.set_verify_mode(asio::ssl::verify_peer, ec);
        if (!ec) {
            if (ca_file) {
                context_.load_verify_file(*ca_file, ec);
            } else {
                context_.set_default_verify_paths(ec);
            }
        }
        const asio::ssl::host_name_verification check_name(host);
        context_.set_verify_callback(
            [check_name, failure = failure_](bool preverified,
                                             asio::ssl::verify_context& verify) mutable {
                X509_STORE_CTX* store = verify.native_handle();
                if (!preverified) {
                    failure->record(X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)));
                    return false;
                }
                // The name is the leaf certificate's, checked once the chain is trusted.
                if (X509_STORE_CTX_get_error_depth(store) == 0 && !check_name(true, verify)) {
                    failure->record_name_mismatch();
                    return false;
                }
                return true;
            },
            ec);
    }

    asio::ssl::context& context() noexcept { return context_; }

    /// Why a handshake that failed with `ec` failed: an untrusted certificate (and why), a
    /// certificate for another name, or a server that does not speak TLS at all.
    std::string explain(const std::error_code& ec) const {
        const auto [reason, name_mismatch] = failure_->read();
        if (name_mismatch) {
            return "the server's certificate is not valid for the name " + host_ +
                   " (connect with the name the certificate was issued for)";
        }
        if (!reason.empty()) {
            return "the server's certificate is not trusted: " + reason +
                   " (give the CA certificates that signed it)";
        }
        if (ec == asio::ssl::error::stream_truncated || ec == asio::error::eof ||
            ec == asio::error::connection_reset ||
            (ec.category() == asio::error::get_ssl_category() &&
             ec.message().find("wrong version number") != std::string::npos)) {
            return "the server closed the connection during the TLS handshake: it does not "
                   "speak TLS on this port (try HOST:PORT without tls://)";
        }
        return "TLS handshake failed: " + ec.message();
    }

private:
    // Written by the verify callback on the connecting thread, read after the handshake.
    class failure {
    public:
        void record(std::string reason) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (reason_.empty()) {
                reason_ = std::move(reason);
            }
        }
        void record_name_mismatch() {
            std::lock_guard<std::mutex> lock(mutex_);
            name_mismatch_ = true;
        }
        std::pair<std::string, bool> read() const {
            std::lock_guard<std::mutex> lock(mutex_);
            return {reason_, name_mismatch_};
        }

    private:
        mutable std::mutex mutex_;
        std::string reason_;
        bool name_mismatch_ = false;
    };

    asio::ssl::context context_;
    std::shared_ptr<failure> failure_;
    std::string host_;
};

} // namespace slicerbridge

#endif

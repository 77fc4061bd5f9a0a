#ifndef SLICERBRIDGE_IGTL_GATEWAY_COMMANDS_HPP
#define SLICERBRIDGE_IGTL_GATEWAY_COMMANDS_HPP

// OpenIGTLink version 2 commands, in the convention of PLUS (vtkPlusCommand) and Slicer's
// OpenIGTLinkRemote: a STRING under device name CMD_<id> whose text is
// `<Command Name="..." .../>`, answered by a STRING under ACK_<id> whose text is
// `<CommandReply Status="SUCCESS|FAIL" Message="..." .../>`. Commands:
//
//   <Command Name="ListProcessors"/>
//   <Command Name="DescribeProcessor" Processor="gaussian_smoothing"/>
//   <Command Name="InvokeProcessor" Processor="gaussian_smoothing">
//     <Input Name="volume" Device="US"/>              data last received under device US
//     <Parameter Name="sigma" Value="1.5"/>
//     <Output Name="smoothed" Device="US_smoothed"/>  optional; default: the output's name
//   </Command>
//   <Command Name="GetStreamStats"/>
//
// A failed command's reply carries the SlicerBridge error: Status="FAIL", Message, ErrorCode
// (the wire code, e.g. 102) and ErrorName ("unknown_processor"); errors found by the gateway
// itself (malformed XML, unknown command or device) have an ErrorName and no ErrorCode.

#include "mapping.hpp"
#include "xml.hpp"

#include <slicerbridge/message/catalog.hpp>
#include <slicerbridge/sync_client.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace slicerbridge {
namespace igtl_gateway {

/// The data last received under each device name, for commands. Holds at most `capacity`
/// devices; a new name beyond that replaces the one updated longest ago.
class device_store {
public:
    explicit device_store(std::size_t capacity = 256) : capacity_(capacity) {}

    struct entry {
        data_value value;
        time_stamp stamp;
        std::string igtl_type;
    };

    void put(const std::string& device, data_value value, time_stamp stamp);
    std::optional<entry> get(const std::string& device) const;
    std::size_t size() const;

private:
    struct slot {
        entry data;
        std::uint64_t updated = 0;
    };
    std::size_t capacity_;
    mutable std::mutex mutex_;
    std::map<std::string, slot> devices_;
    std::uint64_t clock_ = 0;
};

/// A parameter value of `s`'s type read from text: bool (true/false/1/0), int, float, string,
/// enum, or a vector of comma-separated values. Without a slot the text stays a string (the
/// server then reports unknown names). On failure returns nothing and sets `what`.
std::optional<parameter_value> parameter_from_text(const slot* s, const std::string& text,
                                                   std::string& what);

/// `<Processor Name= Title= ...><Input .../>...<Parameter .../>...<Output .../></Processor>`.
void write_description(xml_writer& out, const processor_description& d);

/// True for a device name of the form CMD_<id> (case-insensitive prefix, as PLUS reads it).
bool is_command_device(const std::string& device);

/// The reply device for a command device: CMD_<id> -> ACK_<id>.
std::string reply_device_for(const std::string& command_device);

/// What commands act on.
struct command_context {
    sync_client* client = nullptr;
    device_store* devices = nullptr;
    /// Children of the GetStreamStats reply (one element per streaming rule).
    std::function<void(xml_writer&)> stream_stats;
    /// Sends a result message to the peer that sent the command.
    std::function<void(igtl::MessageBase&)> send;
};

/// Runs one command and returns the text of its `<CommandReply .../>`. Results of
/// InvokeProcessor are sent through `context.send` before this returns.
std::string run_command(const std::string& text, const command_context& context);

} // namespace igtl_gateway
} // namespace slicerbridge

#endif

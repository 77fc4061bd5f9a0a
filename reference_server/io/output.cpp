// What every file operation shares: the libraries' own output kept off the terminal, outputs
// written under a temporary name and renamed when complete, and the checks made before a call.

#include "binary.hpp"

#include <itkObjectFactory.h>
#include <itkOutputWindow.h>
#include <vtkObjectFactory.h>
#include <vtkOutputWindow.h>
#include <vtkSmartPointer.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <regex>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace slicerbridge {
namespace files {
namespace detail {

std::string& window_text() {
    static std::string text;
    return text;
}

namespace {

/// VTK's messages (errors, warnings) go to window_text() instead of standard error.
class vtk_capture : public vtkOutputWindow {
public:
    static vtk_capture* New();
    void DisplayText(const char* text) override {
        if (text != nullptr) {
            window_text() += text;
            window_text() += '\n';
        }
    }
    vtkTypeMacro(vtk_capture, vtkOutputWindow)
};
vtkStandardNewMacro(vtk_capture);

/// ITK's messages likewise.
class itk_capture : public itk::OutputWindow {
public:
    using Self = itk_capture;
    using Superclass = itk::OutputWindow;
    using Pointer = itk::SmartPointer<Self>;
    void DisplayText(const char* text) override {
        if (text != nullptr) {
            window_text() += text;
            window_text() += '\n';
        }
    }
    itkNewMacro(Self)
};

void install_output_windows() {
    static const bool installed = [] {
        auto vtk_window = vtkSmartPointer<vtk_capture>::New();
        vtkOutputWindow::SetInstance(vtk_window);
        itk::OutputWindow::SetInstance(itk_capture::New());
        return true;
    }();
    (void)installed;
}

std::string errno_text() {
    return std::strerror(errno);
}

} // namespace

captured_output::captured_output() {
    install_output_windows();
    window_text().clear();
    std::cout.flush();
    std::cerr.flush();
    std::fflush(stdout);
    std::fflush(stderr);
    std::FILE* file = std::tmpfile();
    if (file == nullptr) {
        return; // nothing to redirect to: leave the descriptors alone
    }
    file_ = ::dup(::fileno(file));
    std::fclose(file);
    saved_out_ = ::dup(STDOUT_FILENO);
    saved_err_ = ::dup(STDERR_FILENO);
    if (file_ < 0 || saved_out_ < 0 || saved_err_ < 0) {
        return;
    }
    ::dup2(file_, STDOUT_FILENO);
    ::dup2(file_, STDERR_FILENO);
}

captured_output::~captured_output() {
    std::cout.flush();
    std::cerr.flush();
    std::fflush(stdout);
    std::fflush(stderr);
    if (saved_out_ >= 0) {
        ::dup2(saved_out_, STDOUT_FILENO);
        ::close(saved_out_);
    }
    if (saved_err_ >= 0) {
        ::dup2(saved_err_, STDERR_FILENO);
        ::close(saved_err_);
    }
    if (file_ >= 0) {
        ::close(file_);
    }
}

std::string captured_output::text() {
    std::cout.flush();
    std::cerr.flush();
    std::fflush(stdout);
    std::fflush(stderr);
    std::string raw = window_text();
    if (file_ >= 0) {
        char chunk[4096];
        ::ssize_t got = 0;
        ::off_t at = 0;
        while ((got = ::pread(file_, chunk, sizeof chunk, at)) > 0 && raw.size() < 65536) {
            raw.append(chunk, static_cast<std::size_t>(got));
            at += got;
        }
    }
    // One line: runs of white space become one space.
    std::string text;
    bool space = false;
    for (char c : raw) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = !text.empty();
            continue;
        }
        if (space) {
            text += ' ';
            space = false;
        }
        text += c;
    }
    if (text.size() > 400) {
        text = text.substr(0, 400) + "...";
    }
    return text;
}

std::string tidy_library_text(std::string text) {
    // VTK says "ERROR: In FILE, line N CLASS (0xADDRESS): MESSAGE" once per object that failed;
    // the first is the cause, the others the pipeline reporting it.
    const auto second = text.find("ERROR: In ", text.find("ERROR: In ") + 1);
    if (text.find("ERROR: In ") != std::string::npos && second != std::string::npos) {
        text.erase(second);
    }
    text = std::regex_replace(text, std::regex(R"((ERROR|Warning): In [^,]*, line [0-9]+ )"), "");
    text = std::regex_replace(text, std::regex(R"( ?\(0x[0-9a-fA-F]+\))"), "");
    text = std::regex_replace(text, std::regex(R"((itk::ERROR|ITK ERROR): )"), "");
    while (!text.empty() && text.back() == ' ') {
        text.pop_back();
    }
    return text;
}

std::uint64_t file_size(const std::string& path, const std::string& role) {
    struct ::stat status {};
    const std::string what = role.empty() ? path : role + " " + path;
    if (::stat(path.c_str(), &status) != 0) {
        throw file_error("cannot open " + what + ": " + errno_text());
    }
    if (!S_ISREG(status.st_mode)) {
        throw file_error(what + " is not a regular file");
    }
    return static_cast<std::uint64_t>(status.st_size);
}

namespace {

std::string folder_of(const std::string& path) {
    const std::string folder = directory_of(path);
    return folder.empty() ? std::string("./") : folder;
}

std::vector<std::string> entries_of(const std::string& folder) {
    std::vector<std::string> names;
    if (DIR* dir = ::opendir(folder.c_str())) {
        while (const ::dirent* entry = ::readdir(dir)) {
            const std::string name = entry->d_name;
            if (name != "." && name != "..") {
                names.push_back(name);
            }
        }
        ::closedir(dir);
    }
    return names;
}

} // namespace

atomic_output::atomic_output(const std::string& path, const std::string& neutral_name)
    : final_(path) {
    const std::string folder = folder_of(path);
    std::string pattern = folder + ".slicerbridge-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    if (::mkdtemp(name.data()) == nullptr) {
        throw file_error("cannot write " + path + ": the folder " + folder +
                         " does not take new files (" + errno_text() + ")");
    }
    folder_ = name.data();
    temporary_ = folder_ + "/" + (neutral_name.empty() ? file_name_of(path) : neutral_name);
}

atomic_output::~atomic_output() {
    if (folder_.empty()) {
        return;
    }
    for (const auto& name : entries_of(folder_)) {
        std::remove((folder_ + "/" + name).c_str());
    }
    ::rmdir(folder_.c_str());
}

void atomic_output::commit() {
    const std::string folder = folder_of(final_);
    const std::string main_name = file_name_of(temporary_);
    std::vector<std::string> names = entries_of(folder_);
    bool has_main = false;
    for (const auto& name : names) {
        if (name == main_name) {
            has_main = true;
            continue;
        }
        if (std::rename((folder_ + "/" + name).c_str(), (folder + name).c_str()) != 0) {
            throw file_error("cannot write " + folder + name + ": " + errno_text());
        }
    }
    if (!has_main) {
        throw file_error("cannot write " + final_ + ": the writer made no file");
    }
    if (std::rename(temporary_.c_str(), final_.c_str()) != 0) {
        throw file_error("cannot write " + final_ + ": " + errno_text());
    }
    committed_ = true;
}

} // namespace detail

namespace {

bool writable_extension(slot_type type, const std::string& extension) {
    auto among = [&](std::initializer_list<const char*> list) {
        for (const char* e : list) {
            if (extension == e) {
                return true;
            }
        }
        return false;
    };
    switch (type) {
    case slot_type::image:
        return among({".nrrd", ".nhdr", ".nii", ".nii.gz", ".hdr", ".mha", ".mhd", ".vti"});
    case slot_type::mesh:
        return among({".vtp", ".vtk", ".stl"});
    case slot_type::table:
        return among({".csv"});
    case slot_type::transform:
        return among({".tfm", ".txt"});
    case slot_type::points:
        return among({".json", ".mrk.json"});
    case slot_type::image_series:
        return among({".nrrd", ".nhdr"}); // MultiVolume files
    default:
        return true;
    }
}

} // namespace

void check_writable(const std::string& path, std::optional<slot_type> type) {
    if (path == "-" && (!type || *type == slot_type::table)) {
        return;
    }
    if (type && !writable_extension(*type, extension_of(path))) {
        throw file_error(path +
                         ": cannot write this kind of data to a file with this extension "
                         "(supported " +
                         supported_formats() + ")");
    }
    struct ::stat status {};
    if (::stat(path.c_str(), &status) == 0 && S_ISDIR(status.st_mode)) {
        throw file_error("cannot write " + path + ": it is a folder");
    }
    std::string folder = detail::directory_of(path);
    if (folder.empty()) {
        folder = "./";
    }
    if (::stat(folder.c_str(), &status) != 0 || !S_ISDIR(status.st_mode)) {
        throw file_error("cannot write " + path + ": the folder " + folder + " does not exist");
    }
    std::string pattern = folder + ".slicerbridge-check-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    const int probe = ::mkstemp(name.data());
    if (probe < 0) {
        throw file_error("cannot write " + path + ": the folder " + folder +
                         " does not take new files (" + std::strerror(errno) + ")");
    }
    ::close(probe);
    ::unlink(name.data());
}

} // namespace files
} // namespace slicerbridge

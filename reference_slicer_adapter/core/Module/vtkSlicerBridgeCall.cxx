#include "vtkSlicerBridgeCall.h"

#include "vtkSlicerBridgeCallInternals.h"
#include "vtkSlicerBridgeConversions.h"

#include <slicerbridge/json.hpp>

#include <vtkObjectFactory.h>

namespace sb = slicerbridge;
namespace adapter = slicerbridge_adapter;

vtkStandardNewMacro(vtkSlicerBridgeCall);

vtkSlicerBridgeCall::vtkSlicerBridgeCall()
  : Internals(new vtkInternals)
{
}

vtkSlicerBridgeCall::~vtkSlicerBridgeCall() = default;

void vtkSlicerBridgeCall::PrintSelf(ostream& os, vtkIndent indent)
{
  this->Superclass::PrintSelf(os, indent);
  os << indent << "Processor: " << this->Internals->Processor << "\n";
  os << indent << "Inputs: " << this->Internals->Inputs.size() << "\n";
  os << indent << "Parameters: " << this->Internals->ParametersJSON << "\n";
  os << indent << "Space: " << this->GetSpace() << "\n";
  os << indent << "Deadline: " << this->Deadline << "\n";
  os << indent << "Status: " << this->GetStatusAsString() << "\n";
  os << indent << "CallId: " << this->Internals->CallId << "\n";
  os << indent << "Progress: " << this->Internals->Progress << "\n";
  if (this->Internals->ErrorCode != 0)
  {
    os << indent << "Error: " << this->Internals->ErrorCode << " "
       << this->Internals->ErrorMessage << "\n";
  }
}

void vtkSlicerBridgeCall::SetProcessor(const std::string& name)
{
  if (this->Internals->Processor != name)
  {
    this->Internals->Processor = name;
    this->Modified();
  }
}

std::string vtkSlicerBridgeCall::GetProcessor() const
{
  return this->Internals->Processor;
}

bool vtkSlicerBridgeCall::SetParametersJSON(const std::string& json)
{
  nlohmann::json parsed = nlohmann::json::parse(json, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
  {
    vtkErrorMacro("SetParametersJSON: not a JSON object");
    return false;
  }
  std::vector<std::pair<std::string, sb::parameter_value>> parameters;
  for (auto it = parsed.begin(); it != parsed.end(); ++it)
  {
    std::error_code ec;
    std::string what;
    sb::value wire = sb::value_from_json(it.value(), ec, what);
    sb::parameter_value parameter;
    if (!ec)
    {
      parameter = sb::parameter_value::from_value(wire, ec, what);
    }
    if (ec)
    {
      vtkErrorMacro("SetParametersJSON: parameter '" << it.key() << "' is not a parameter value");
      return false;
    }
    parameters.emplace_back(it.key(), std::move(parameter));
  }
  this->Internals->Parameters = std::move(parameters);
  this->Internals->ParametersJSON = parsed.dump();
  this->Modified();
  return true;
}

std::string vtkSlicerBridgeCall::GetParametersJSON() const
{
  return this->Internals->ParametersJSON;
}

bool vtkSlicerBridgeCall::SetSpace(const std::string& space)
{
  auto parsed = sb::space_from_name(space);
  if (!parsed)
  {
    vtkErrorMacro("SetSpace: expected \"RAS\" or \"LPS\", not \"" << space << "\"");
    return false;
  }
  this->Internals->Space = *parsed;
  this->Modified();
  return true;
}

std::string vtkSlicerBridgeCall::GetSpace() const
{
  return std::string(sb::space_name(this->Internals->Space));
}

bool vtkSlicerBridgeCall::AddImageInput(
  const std::string& name, vtkImageData* image, vtkMatrix4x4* ijkToRAS, const std::string& kind)
{
  auto parsedKind = sb::image_kind_from_name(kind);
  if (image == nullptr || ijkToRAS == nullptr || !parsedKind)
  {
    vtkErrorMacro("AddImageInput: '" << name
                                     << "' needs an image, a matrix and a kind of scalar, label "
                                        "or vector");
    return false;
  }
  vtkSlicerBridgeInput& input = this->Internals->SetInput(name, "image");
  input.Image = image;
  input.Matrix = ijkToRAS;
  input.Kind = *parsedKind;
  this->Modified();
  return true;
}

bool vtkSlicerBridgeCall::AddImageInputSegment(const std::string& name, long long labelValue,
  const std::string& segmentName, double red, double green, double blue)
{
  vtkSlicerBridgeInput* input = this->Internals->FindInput(name);
  if (input == nullptr || input->Type != "image" || input->Kind != sb::image_kind::label)
  {
    vtkErrorMacro("AddImageInputSegment: '" << name << "' is not a label image input");
    return false;
  }
  for (double component : { red, green, blue })
  {
    if (!(component >= 0.0 && component <= 1.0))
    {
      vtkErrorMacro("AddImageInputSegment: color components must be in [0, 1]");
      return false;
    }
  }
  for (const auto& existing : input->Segments)
  {
    if (existing.value == labelValue)
    {
      vtkErrorMacro("AddImageInputSegment: label value " << labelValue << " is already named");
      return false;
    }
  }
  input->Segments.push_back(sb::segment{ labelValue, segmentName, { red, green, blue } });
  this->Modified();
  return true;
}

bool vtkSlicerBridgeCall::AddMeshInput(const std::string& name, vtkPolyData* mesh)
{
  if (mesh == nullptr)
  {
    vtkErrorMacro("AddMeshInput: '" << name << "' needs a mesh");
    return false;
  }
  this->Internals->SetInput(name, "mesh").Mesh = mesh;
  this->Modified();
  return true;
}

bool vtkSlicerBridgeCall::AddTransformInput(const std::string& name, vtkMatrix4x4* toParent)
{
  if (toParent == nullptr)
  {
    vtkErrorMacro("AddTransformInput: '" << name << "' needs a matrix");
    return false;
  }
  this->Internals->SetInput(name, "transform").Matrix = toParent;
  this->Modified();
  return true;
}

bool vtkSlicerBridgeCall::AddPointsInput(
  const std::string& name, vtkPoints* points, vtkStringArray* labels)
{
  if (points == nullptr)
  {
    vtkErrorMacro("AddPointsInput: '" << name << "' needs points");
    return false;
  }
  vtkSlicerBridgeInput& input = this->Internals->SetInput(name, "points");
  input.Points = points;
  input.Labels = labels;
  this->Modified();
  return true;
}

bool vtkSlicerBridgeCall::AddTableInput(const std::string& name, vtkTable* table)
{
  if (table == nullptr)
  {
    vtkErrorMacro("AddTableInput: '" << name << "' needs a table");
    return false;
  }
  this->Internals->SetInput(name, "table").Table = table;
  this->Modified();
  return true;
}

void vtkSlicerBridgeCall::RemoveAllInputs()
{
  this->Internals->Inputs.clear();
  this->Modified();
}

int vtkSlicerBridgeCall::GetNumberOfInputs() const
{
  return static_cast<int>(this->Internals->Inputs.size());
}

int vtkSlicerBridgeCall::GetStatus() const
{
  return this->Internals->Status;
}

std::string vtkSlicerBridgeCall::GetStatusAsString() const
{
  switch (this->Internals->Status)
  {
    case Running:
      return "Running";
    case Succeeded:
      return "Succeeded";
    case Failed:
      return "Failed";
    case Cancelled:
      return "Cancelled";
    default:
      return "Idle";
  }
}

bool vtkSlicerBridgeCall::IsFinished() const
{
  int status = this->Internals->Status;
  return status == Succeeded || status == Failed || status == Cancelled;
}

long long vtkSlicerBridgeCall::GetCallId() const
{
  return this->Internals->CallId;
}

double vtkSlicerBridgeCall::GetProgress() const
{
  return this->Internals->Progress;
}

std::string vtkSlicerBridgeCall::GetProgressMessage() const
{
  return this->Internals->ProgressMessage;
}

int vtkSlicerBridgeCall::GetErrorCode() const
{
  return this->Internals->ErrorCode;
}

std::string vtkSlicerBridgeCall::GetErrorName() const
{
  return this->Internals->ErrorName;
}

std::string vtkSlicerBridgeCall::GetErrorMessage() const
{
  return this->Internals->ErrorMessage;
}

std::string vtkSlicerBridgeCall::GetErrorDetailsJSON() const
{
  return this->Internals->ErrorDetailsJSON;
}

std::string vtkSlicerBridgeCall::GetTimingsJSON() const
{
  return this->Internals->TimingsJSON;
}

double vtkSlicerBridgeCall::GetRoundTripTime() const
{
  return this->Internals->RoundTrip;
}

int vtkSlicerBridgeCall::GetNumberOfOutputs() const
{
  return static_cast<int>(this->Internals->Result.outputs.size());
}

std::string vtkSlicerBridgeCall::GetOutputName(int index) const
{
  const auto& outputs = this->Internals->Result.outputs;
  if (index < 0 || static_cast<std::size_t>(index) >= outputs.size())
  {
    return {};
  }
  return outputs[static_cast<std::size_t>(index)].first;
}

std::string vtkSlicerBridgeCall::GetOutputType(const std::string& name) const
{
  const sb::data_value* output = this->Internals->Result.output(name);
  return output == nullptr ? std::string() : std::string(sb::data_type_name(*output));
}

namespace
{
/// Runs a conversion of an output, turning a failure into a VTK error and `false`.
template <class Convert>
bool ConvertOutput(vtkObject* self, const std::string& name, Convert convert)
{
  try
  {
    convert();
    return true;
  }
  catch (const std::exception& failure)
  {
    vtkErrorWithObjectMacro(self, "output '" << name << "': " << failure.what());
    return false;
  }
}
} // namespace

bool vtkSlicerBridgeCall::GetImageOutput(
  const std::string& name, vtkImageData* image, vtkMatrix4x4* ijkToRAS) const
{
  const auto* output = this->Internals->Result.output_as<sb::image>(name);
  if (output == nullptr || image == nullptr || ijkToRAS == nullptr)
  {
    return false;
  }
  return ConvertOutput(const_cast<vtkSlicerBridgeCall*>(this), name,
    [&] { adapter::ImageToVTK(*output, image, ijkToRAS); });
}

std::string vtkSlicerBridgeCall::GetImageOutputKind(const std::string& name) const
{
  const auto* output = this->Internals->Result.output_as<sb::image>(name);
  return output == nullptr ? std::string() : std::string(sb::image_kind_name(output->kind));
}

std::string vtkSlicerBridgeCall::GetImageOutputSegmentsJSON(const std::string& name) const
{
  const auto* output = this->Internals->Result.output_as<sb::image>(name);
  sb::value::array segments;
  if (output != nullptr)
  {
    for (const auto& segment : output->segments)
    {
      segments.push_back(sb::value::map{ { "value", segment.value }, { "name", segment.name },
        { "color",
          sb::value::array{ segment.color[0], segment.color[1], segment.color[2] } } });
    }
  }
  return adapter::ToJSON(sb::value(std::move(segments)));
}

bool vtkSlicerBridgeCall::GetMeshOutput(const std::string& name, vtkPolyData* mesh) const
{
  const auto* output = this->Internals->Result.output_as<sb::mesh>(name);
  if (output == nullptr || mesh == nullptr)
  {
    return false;
  }
  return ConvertOutput(const_cast<vtkSlicerBridgeCall*>(this), name,
    [&] { adapter::MeshToVTK(*output, mesh); });
}

bool vtkSlicerBridgeCall::GetTransformOutput(const std::string& name, vtkMatrix4x4* toParent) const
{
  const auto* output = this->Internals->Result.output_as<sb::transform>(name);
  if (output == nullptr || toParent == nullptr)
  {
    return false;
  }
  return ConvertOutput(const_cast<vtkSlicerBridgeCall*>(this), name,
    [&] { adapter::TransformToVTK(*output, toParent); });
}

bool vtkSlicerBridgeCall::GetPointsOutput(
  const std::string& name, vtkPoints* points, vtkStringArray* labels) const
{
  const auto* output = this->Internals->Result.output_as<sb::point_list>(name);
  if (output == nullptr || points == nullptr)
  {
    return false;
  }
  return ConvertOutput(const_cast<vtkSlicerBridgeCall*>(this), name,
    [&] { adapter::PointsToVTK(*output, points, labels); });
}

bool vtkSlicerBridgeCall::GetTableOutput(const std::string& name, vtkTable* table) const
{
  const auto* output = this->Internals->Result.output_as<sb::table>(name);
  if (output == nullptr || table == nullptr)
  {
    return false;
  }
  return ConvertOutput(const_cast<vtkSlicerBridgeCall*>(this), name,
    [&] { adapter::TableToVTK(*output, table); });
}

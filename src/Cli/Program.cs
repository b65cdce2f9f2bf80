using System.CommandLine;
using GpuAe.Cli;

return GpuAeCli.Run(args);

using System.Text;

namespace GpuAe.Nets.Report;

/// <summary>slides.tex: the study as a 16:9 Beamer deck, one idea per frame: a figure large, its numbers in a small table
/// (<see cref="ReportText.Digest"/>), and what REPORT.md says about them (<see cref="ReportDocument"/>), ending with the
/// verdicts on the notebook's claims.</summary>
public static class SlidesTex
{
    public const string Name = "slides";

    public static string Write(ReportDocument doc, ReportSummary s, ReportOptions o)
    {
        var t = new StringBuilder();
        t.Append("\\documentclass[aspectratio=169,10pt]{beamer}\n")
         .Append(Latex.Packages)
         .Append("\\usetheme{default}\n\\setbeamertemplate{navigation symbols}{}\n\\setbeamertemplate{footline}[frame number]\n")
         .Append("\\setbeamerfont{frametitle}{size=\\large,series=\\bfseries}\n")
         .Append("\\title{").Append(Latex.Escape(doc.Title)).Append("}\n\\subtitle{GpuAe: every pass an ILGPU kernel, every number from one run}\n\\date{}\n")
         .Append("\\begin{document}\n");
        t.Append("\\begin{frame}\n\\titlepage\n\\vfill{\\scriptsize ").Append(Latex.Inline(doc.Text(Say.MadeBy) ?? "")).Append("\\par}\n\\end{frame}\n");

        Frame(t, "Why this comparison", Text(doc.Blocks(Part.Why), "\\small"));
        foreach (var (title, blocks) in ModelFrames(doc.Blocks(Part.Models).ToList()))
            Frame(t, title, Text(blocks, "\\footnotesize"));
        Frame(t, "How the code is organised", "\\small\n" + Latex.Block(new Bullets([.. Code.Select(c => new Line(Say.None, c))])));

        var reconstruction = Pick(doc, Say.ClaimReconstruction, Say.ClaimEqualWidth);
        Frame(t, "Reconstruction: the notebook's comparison, then at equal width",
            FigureBeside(StudyFigures.ReconstructionsPng, ReportText.Digest(s, o, Digests.Reconstruction), reconstruction));
        if (o.LatentSizes.Count > 1)
            Frame(t, "Reconstruction against the latent width",
                FigureBeside(StudyFigures.LatentSizesPng, ReportText.Digest(s, o, Digests.Widths), Pick(doc, Say.WidthGap)));
        Frame(t, "The 2-D latent spaces",
            FigureBeside(StudyFigures.LatentScatterPng, ReportText.Digest(s, o, Digests.Latents), Pick(doc, Say.ClaimLatent), share: 0.64));
        Frame(t, "Generation", FigureBeside(StudyFigures.PriorSamplesPng, ReportText.Digest(s, o, Digests.Generation), Pick(doc, Say.ClaimGeneration)));
        if (o.BetaValues.Any(b => b != 1f))
            Frame(t, "β sweep: rate against distortion",
                FigureBeside(StudyFigures.RateDistortionPng, ReportText.Digest(s, o, Digests.BetaSweep), Pick(doc, Say.BetaTradeOff, Say.BetaRanking)));
        foreach (var section in doc.All(Part.Conditional))
            Frame(t, section.Title!, FigureBeside(StudyFigures.ConditionalSamplesPng, ReportText.Digest(s, o, Digests.Conditional),
                Pick(doc, Say.ConditionalRecognised)));
        foreach (var section in doc.All(Part.Adversarial))
            Frame(t, section.Title!, FigureBeside(StudyFigures.AdversarialSamplesPng, ReportText.Digest(s, o, Digests.Adversarial),
                Pick(doc, Say.ClaimSharper)));
        Frame(t, "Limits", Text(doc.Blocks(Part.Limits), "\\footnotesize"));
        Frame(t, "Future work", Text(doc.Blocks(Part.FutureWork), "\\small"));
        Frame(t, "What the numbers say", Text(doc.Blocks(Part.Claims), "\\scriptsize"));
        return t.Append("\\end{document}\n").ToString();
    }

    /// <summary>The repository's parts, for the frame on how the code is organised.</summary>
    static readonly string[] Code =
    [
        "`src/Kernels`: the ILGPU kernels, every forward and backward pass, the sampling and the KL gradient, on CUDA, OpenCL or ILGPU's CPU accelerator.",
        "`src/Simd`: the same backend interface on the host, with SIMD matrix products, for machines without a GPU.",
        "`src/Nets`: layers and models (one registry of model kinds), the trainer with Adam, checkpoints, and this study: its metrics, figures and text.",
        "`src/Cli`: `gpuae train`, `eval`, `sample`, `report`, `check` and `bench`.",
        "`tests`: a plain reference beside every kernel's test and a finite-difference check of every backward pass.",
    ];

    /// <summary>The models on two frames where there are more than the AE and the VAE (one frame held five models'
    /// descriptions only by running off its bottom): the AE and the VAE with the paragraphs around them, then the others.</summary>
    static IEnumerable<(string Title, IEnumerable<Block> Blocks)> ModelFrames(IReadOnlyList<Block> blocks)
    {
        const int First = 2;
        var rest = blocks.OfType<Bullets>().SelectMany(b => b.Items).Skip(First).ToList();
        yield return ("The models", blocks.Select(b => b is Bullets list ? new Bullets([.. list.Items.Take(First)]) : b));
        if (rest.Count > 0) yield return ("The models, continued", [new Bullets(rest)]);
    }

    static void Frame(StringBuilder t, string title, string body) =>
        t.Append("\\begin{frame}[t]{").Append(Latex.Escape(title)).Append("}\n").Append(body).Append("\\end{frame}\n");

    static string Text(IEnumerable<Block> blocks, string size) =>
        size + "\n" + string.Concat(blocks.Where(b => b is Paragraph or Bullets).Select(b => Latex.Block(b)));

    /// <summary>The lines of the document that say these things, as one paragraph (those this study does not say are left out).</summary>
    static string Pick(ReportDocument doc, params Say[] what) =>
        string.Join("\n\n", what.Select(doc.Text).OfType<string>().Select(Latex.Inline));

    /// <summary>The figure on the left, as large as the frame allows; its numbers and what they say on the right.</summary>
    static string FigureBeside(string figure, Table numbers, string text, double share = 0.56) =>
        $"\\begin{{columns}}[T]\n\\column{{{Latex.Number(share)}\\textwidth}}\n" +
        $"\\includegraphics[width=\\linewidth,height=0.8\\textheight,keepaspectratio]{{{figure}}}\n" +
        $"\\column{{{Latex.Number(0.98 - share)}\\textwidth}}\n{{\\scriptsize\\setlength{{\\tabcolsep}}{{3pt}}\\fitwidth{{" + Latex.Tabular(numbers) + "}}\n\n\\vspace{4pt}{\\scriptsize " + text + "\\par}\n" +
        "\\end{columns}\n";
}

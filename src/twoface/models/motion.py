"""First-order motion model (Siarohin et al., NeurIPS 2019): animate a still face.

Learned keypoints, each with a local affine motion (a Jacobian), tell how the driving frame's
parts moved relative to the source; a dense motion network mixes those motions into one flow
and predicts where the source cannot show what the driving frame needs (occlusion); the
generator warps the source's features by that flow and paints the rest.

Self-supervised: ``source`` and ``driving`` are two frames of one clip, and the model must
redraw ``driving`` from ``source`` and the keypoints of both. Keypoints are kept meaningful by
equivariance: detecting on a randomly warped frame must give the warped keypoints (positions
and Jacobians).

Shapes: images ``(B, 3, S, S)`` in [0, 1], ``S = config.size``; keypoints in ``[-1, 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from twoface.faces.nets.embedder import FaceEmbedder, load_embedder
from twoface.models._motion_parts import (
    DenseMotion,
    Generator,
    KeypointDetector,
    Keypoints,
    resize,
)
from twoface.models.base import OptimGroups, TrainableModel
from twoface.models.registry import register
from twoface.nn.blocks import PatchDiscriminator
from twoface.nn.losses import (
    face_embeddings,
    face_feature_loss,
    gan_d_loss,
    gan_g_loss,
    identity_loss,
    ssim_map,
)
from twoface.nn.perceptual import VGGFeatures, load_vgg, perceptual_loss
from twoface.nn.warp import warp_image, warp_jacobian, warp_points

SIZES = (64, 128, 256)


@dataclass
class MotionConfig:
    """Every knob of the motion model; saved as ``config.json`` beside the weights."""

    size: int = 256  # side of the face crops the model animates: 64, 128 or 256
    keypoints: int = 10
    motion_side: int = 64  # the keypoint and dense-motion networks see the frame at this side
    #                         (the paper's 1/4 of 256): motion is coarse, detail is the generator's
    kp_width: int = 32  # hourglass widths (first level; doubled per level up to kp_max)
    kp_max: int = 1024
    kp_blocks: int = 5
    dense_width: int = 64
    dense_max: int = 1024
    dense_blocks: int = 5
    gen_width: int = 64
    gen_max: int = 512
    gen_downs: int = 2
    gen_res: int = 6
    equivariance: float = 10.0  # weight of the keypoint position and Jacobian equivariance
    sigma_affine: float = 0.05  # strength of the random warp the equivariance is checked on
    sigma_tps: float = 0.005
    perceptual: float = 1.0  # VGG feature loss weight, used only if VGG16 weights are on disk
    gan: bool = False  # PatchGAN adversarial loss, to sharpen
    gan_weight: float = 0.1
    disc_channels: int = 64
    lr: float = 2e-4
    # Losses through dlib's face recognition ResNet (off by default; the network is loaded
    # only when one is on). ``identity``: cosine distance between the prediction's dlib
    # embedding and the driving frame's (the same person in self-supervised training), so the
    # generator keeps who it animates; ``face_features``: L1 between dlib's stage activations
    # of prediction and driving frame (a perceptual loss trained on faces).
    identity: float = 0.0
    face_features: float = 0.0
    # Clip crops are loose, not aligned: dlib's chip is cut from them as if they were aligned
    # crops whose landmark template spans this share of the side. Approximate: the face's
    # size and place in a clip crop vary from clip to clip and frame to frame.
    face_coverage: float = 0.45

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, got {self.size}")
        if self.identity < 0 or self.face_features < 0:
            raise ValueError("identity and face_features are loss weights: give values >= 0")
        if not 0.0 < self.face_coverage <= 1.0:
            raise ValueError(f"face_coverage must be in (0, 1], got {self.face_coverage}")
        self.motion_side = min(self.motion_side, self.size)
        for name, blocks in (("kp_blocks", self.kp_blocks), ("dense_blocks", self.dense_blocks)):
            if self.motion_side % 2**blocks:
                raise ValueError(f"motion_side {self.motion_side} must divide by 2**{name}")
        if self.keypoints < 1:
            raise ValueError("keypoints must be at least 1")


# ------------------------------------------------------------------------ model
class MotionModel(TrainableModel):
    """Keypoint detector, dense motion network and generator (and an optional critic)."""

    config: MotionConfig
    _vgg: VGGFeatures | None  # in __dict__: neither a submodule nor saved
    _face_net: FaceEmbedder | None  # dlib's embedder (frozen), likewise in __dict__

    def __init__(self, config: MotionConfig) -> None:
        super().__init__()
        self.config = cfg = config
        self.kp_detector = KeypointDetector(cfg.keypoints, cfg.motion_side, cfg.kp_width,
                                            cfg.kp_blocks, cfg.kp_max)
        self.dense_motion = DenseMotion(cfg.keypoints, cfg.motion_side, cfg.dense_width,
                                        cfg.dense_blocks, cfg.dense_max)
        self.generator = Generator(cfg.gen_width, cfg.gen_max, cfg.gen_downs, cfg.gen_res)
        self.critic = PatchDiscriminator(cfg.disc_channels) if cfg.gan else None
        # Kept out of the module tree: it is not part of the model's weights or state.
        self.__dict__["_vgg"] = load_vgg() if cfg.perceptual > 0 else None
        use_face_net = cfg.identity > 0 or cfg.face_features > 0
        self.__dict__["_face_net"] = load_embedder() if use_face_net else None

    # ---------------------------------------------------------------- inference
    def keypoints(self, image: torch.Tensor) -> Keypoints:
        """``(B, 3, S, S)`` → ``{"value": (B, K, 2), "jacobian": (B, K, 2, 2)}``."""
        return self.kp_detector(image)

    def encode(self, source: torch.Tensor) -> torch.Tensor:
        """The generator's source features (computed once per still image when animating)."""
        return self.generator.encode(source)

    def animate(self, source: torch.Tensor, feat: torch.Tensor, kp_s: Keypoints,
                kp_d: Keypoints) -> dict[str, torch.Tensor]:
        """Draw ``source`` (features ``feat``, keypoints ``kp_s``) moved to ``kp_d``; a batch of
        one source broadcasts to a batch of driving keypoints. Returns ``prediction``
        ``(B, 3, S, S)`` plus the dense motion's ``deformation``, ``occlusion`` and ``mask``."""
        n = kp_d["value"].shape[0]
        if source.shape[0] != n:
            source, feat = source.expand(n, -1, -1, -1), feat.expand(n, -1, -1, -1)
            kp_s = {k: v.expand(n, *v.shape[1:]) for k, v in kp_s.items()}
        motion = self.dense_motion(source, kp_s, kp_d)
        pred = self.generator.decode(feat, motion["deformation"], motion["occlusion"])
        return {"prediction": pred, **motion}

    def forward(self, source: torch.Tensor, driving: torch.Tensor) -> dict[str, torch.Tensor]:
        """Reconstruct ``driving`` from ``source`` (absolute motion): the training forward."""
        kp_s, kp_d = self.keypoints(source), self.keypoints(driving)
        out = self.animate(source, self.encode(source), kp_s, kp_d)
        out["kp_source"], out["kp_driving"] = kp_s["value"], kp_d["value"]
        out["jac_driving"] = kp_d["jacobian"]
        return out

    # ----------------------------------------------------------------- training
    def optim_groups(self) -> OptimGroups:
        """Loss key → (parameters that key's backward pass steps, learning rate)."""
        gen = [p for n, p in self.named_parameters() if not n.startswith("critic.")]
        groups = {"loss": (gen, self.config.lr)}
        if self.critic is not None:
            groups["loss_d"] = (list(self.critic.parameters()), self.config.lr)
        return groups

    def equivariance_losses(self, driving: torch.Tensor, kp_d: Keypoints, theta: torch.Tensor,
                            tps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keypoints of the warped frame, mapped back through the warp, must land on the
        frame's own keypoints (value), and the warp's Jacobian times theirs must equal the
        frame's (``J_d⁻¹ · J_warp · J_t ≈ I``). Both are 0 for the identity warp."""
        kp_t = self.keypoints(warp_image(theta, tps, driving))
        back = warp_points(theta, tps, kp_t["value"])
        value = (kp_d["value"] - back).abs().mean()
        jac = warp_jacobian(theta, tps, kp_t["value"]) @ kp_t["jacobian"]
        eye = torch.eye(2, device=jac.device)
        jacobian = (eye - torch.linalg.inv(kp_d["jacobian"]) @ jac).abs().mean()
        return value, jacobian

    def reconstruction_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Image pyramid L1 + DSSIM (down to 16 px): the coarse levels reward getting the
        motion right even while the fine detail is still wrong."""
        total = torch.zeros((), device=pred.device)
        side = pred.shape[-1]
        while side >= 16:
            p, t = resize(pred.float(), side), resize(target.float(), side)
            total = total + (p - t).abs().mean() + ((1 - ssim_map(p, t)) / 2).mean()
            side //= 2
        return total

    def training_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Losses for one batch from :class:`twoface.data.clips.ClipBatches`: ``source`` and
        ``driving`` ``(B, 3, S, S)`` (two frames of one clip) and the random warp
        ``warp_theta``, ``warp_tps`` for equivariance. ``loss`` is the generator's total and
        ``loss_d`` the critic's (when ``gan``)."""
        cfg = self.config
        source, driving = batch["source"], batch["driving"]
        kp_s, kp_d = self.keypoints(source), self.keypoints(driving)
        pred = self.animate(source, self.encode(source), kp_s, kp_d)["prediction"]
        out = {"rec": self.reconstruction_loss(pred, driving)}
        total = out["rec"]
        if self._vgg is not None:
            vgg = self._vgg.to(pred.device)
            out["vgg"] = perceptual_loss(vgg, pred.float(), driving.float())
            total = total + cfg.perceptual * out["vgg"]
        if self._face_net is not None:
            net, cov = self._face_net.to(pred.device), cfg.face_coverage
            if cfg.identity > 0:
                with torch.no_grad():
                    goal = face_embeddings(net, driving, cov)[0]
                out["id"] = identity_loss(net, pred, goal, cov)
                total = total + cfg.identity * out["id"]
            if cfg.face_features > 0:
                out["feat"] = face_feature_loss(net, pred, driving, cov)
                total = total + cfg.face_features * out["feat"]
        if cfg.equivariance > 0:
            out["eq_value"], out["eq_jacobian"] = self.equivariance_losses(
                driving, kp_d, batch["warp_theta"], batch["warp_tps"])
            total = total + cfg.equivariance * (out["eq_value"] + out["eq_jacobian"])
        out["l1"] = (pred.float() - driving.float()).abs().mean().detach()
        if self.critic is not None:
            out["gan_g"] = gan_g_loss(self.critic(pred))
            total = total + cfg.gan_weight * out["gan_g"]
            # The critic sees a detached fake: its loss must not move the generator.
            out["loss_d"] = gan_d_loss(self.critic(driving), self.critic(pred.detach()))
        out["loss"] = total
        return out

    @torch.no_grad()
    def preview(self, batch: dict[str, torch.Tensor], rows: int = 4) -> torch.Tensor:
        """A ``(3, rows·S, 5·S)`` grid: source, driving with its keypoints, source with its
        keypoints, prediction, occlusion map (white: visible in the source)."""
        src, drv = batch["source"][:rows].float(), batch["driving"][:rows].float()
        out = self(src, drv)
        occ = resize(out["occlusion"], src.shape[-1]).expand(-1, 3, -1, -1)
        cols = [src, draw_keypoints(drv, out["kp_driving"]), draw_keypoints(src, out["kp_source"]),
                out["prediction"], occ]
        grid = torch.cat([c.clamp(0, 1).float() for c in cols], dim=3)
        return torch.cat(list(grid), dim=1)


def draw_keypoints(images: torch.Tensor, kp: torch.Tensor) -> torch.Tensor:
    """Copies of ``images`` ``(B, 3, S, S)`` with keypoints ``(B, K, 2)`` drawn as coloured
    squares (one hue per keypoint, so a keypoint can be followed across the grid)."""
    out = images.clone()
    b, _, s, _ = out.shape
    r = max(1, s // 64)
    px = ((kp.float() + 1) / 2 * (s - 1)).round().long().clamp(0, s - 1).cpu()
    k = kp.shape[1]
    hues = torch.linspace(0, 1, k + 1)[:k]
    for j in range(k):
        h = float(hues[j]) * 6
        colour = torch.tensor([abs(h - 3) - 1, 2 - abs(h - 2), 2 - abs(h - 4)],
                              device=out.device).clamp(0, 1)
        for i in range(b):
            x, y = int(px[i, j, 0]), int(px[i, j, 1])
            out[i, :, max(0, y - r):y + r + 1, max(0, x - r):x + r + 1] = colour.view(3, 1, 1)
    return out


def _make(defaults: dict, cfg: dict) -> MotionModel:
    return MotionModel(MotionConfig(**{**defaults, **cfg}))


SMALL = {"size": 64, "keypoints": 10, "motion_side": 32, "kp_width": 16, "kp_max": 128,
         "kp_blocks": 4, "dense_width": 16, "dense_max": 128, "dense_blocks": 4,
         "gen_width": 16, "gen_max": 128, "gen_downs": 2, "gen_res": 2, "perceptual": 0.0,
         "disc_channels": 32, "lr": 4e-4}
FOMM: dict = {}  # the paper's configuration (its 256 px VoxCeleb model, ~60 M parameters)


@register("motion", "small")
def small(**cfg: object) -> MotionModel:
    """Trains on a laptop CPU: 64 px faces, motion seen at 32 px, narrow networks
    (~1 M parameters)."""
    return _make(SMALL, cfg)


@register("motion", "fomm")
def fomm(**cfg: object) -> MotionModel:
    """The paper's widths (for a GPU); ``size`` 64/128/256 keeps ``motion_side`` ≤ size."""
    return _make(FOMM, cfg)

//! Resolving a generic netlink family's id through the kernel's `nlctrl` family
//! (`CTRL_CMD_GETFAMILY`), as libnl's `genl_ctrl_resolve` does. The IPVS family's id is
//! assigned when the ip_vs module registers it, so it must be asked for, never assumed.

use crate::netlink::{attributes, Addressing, GenlMessage, MessageBuilder, NLM_F_ACK, NLM_F_REQUEST};
use crate::DecodeError;

/// The fixed id of the `nlctrl` family itself.
pub const GENL_ID_CTRL: u16 = 0x10;
pub const CTRL_CMD_NEWFAMILY: u8 = 1;
pub const CTRL_CMD_GETFAMILY: u8 = 3;
/// The version libnl sends `nlctrl` requests with.
pub const CTRL_VERSION: u8 = 1;

const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const CTRL_ATTR_VERSION: u16 = 3;
const CTRL_ATTR_MAXATTR: u16 = 5;

/// What the kernel says about a family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FamilyInfo {
    pub id: u16,
    pub name: String,
    pub version: u32,
    pub max_attr: u32,
}

/// `CTRL_CMD_GETFAMILY` for `name` (`"IPVS"`). `to.family_id` is ignored: requests go to
/// `nlctrl`.
pub fn get_family_request(name: &str, to: Addressing) -> Vec<u8> {
    let to = Addressing {
        family_id: GENL_ID_CTRL,
        ..to
    };
    let mut m = MessageBuilder::genl(to, NLM_F_REQUEST | NLM_F_ACK, CTRL_CMD_GETFAMILY, CTRL_VERSION);
    m.put_string(CTRL_ATTR_FAMILY_NAME, name);
    m.finish()
}

/// Reads the `CTRL_CMD_NEWFAMILY` reply to [`get_family_request`].
pub fn parse_family(msg: &GenlMessage<'_>) -> Result<FamilyInfo, DecodeError> {
    if msg.family_id != GENL_ID_CTRL || msg.cmd != CTRL_CMD_NEWFAMILY {
        return Err(DecodeError::UnexpectedMessage {
            expected: "nlctrl NEWFAMILY",
            family_id: msg.family_id,
            cmd: msg.cmd,
        });
    }
    let mut id = None;
    let mut name = None;
    let mut version = 0;
    let mut max_attr = 0;
    for attr in attributes(msg.attrs) {
        let attr = attr?;
        match attr.kind {
            CTRL_ATTR_FAMILY_ID => id = Some(attr.u16("family id")?),
            CTRL_ATTR_FAMILY_NAME => name = Some(attr.string()?.to_string()),
            CTRL_ATTR_VERSION => version = attr.u32("family version")?,
            CTRL_ATTR_MAXATTR => max_attr = attr.u32("family maxattr")?,
            _ => {}
        }
    }
    Ok(FamilyInfo {
        id: id.ok_or(DecodeError::Missing("family id"))?,
        name: name.ok_or(DecodeError::Missing("family name"))?,
        version,
        max_attr,
    })
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;
    use crate::netlink::{messages, Payload};

    #[test]
    fn get_family_request_bytes() {
        let to = Addressing {
            family_id: 0,
            seq: 0x0102_0304,
            port: 0x0a0b_0c0d,
        };
        #[rustfmt::skip]
        let want = [
            0x20, 0, 0, 0,        // nlmsg_len 32
            0x10, 0,              // GENL_ID_CTRL
            0x05, 0,              // REQUEST | ACK
            4, 3, 2, 1,           // seq
            0x0d, 0x0c, 0x0b, 0x0a, // port id
            3, 1, 0, 0,           // CTRL_CMD_GETFAMILY, version 1
            9, 0, 2, 0, b'I', b'P', b'V', b'S', 0, 0, 0, 0, // FAMILY_NAME "IPVS\0" + pad
        ];
        assert_eq!(get_family_request("IPVS", to), want);
    }

    #[test]
    fn family_reply_is_parsed_and_other_messages_refused() {
        #[rustfmt::skip]
        let reply = [
            0x38, 0, 0, 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0,
            1, 2, 0, 0,                              // NEWFAMILY, version 2
            9, 0, 2, 0, b'I', b'P', b'V', b'S', 0, 0, 0, 0,
            6, 0, 1, 0, 0x23, 0, 0, 0,               // id 0x23
            8, 0, 3, 0, 1, 0, 0, 0,                  // version 1
            8, 0, 5, 0, 6, 0, 0, 0,                  // maxattr 6
        ];
        let msg = messages(&reply).next().unwrap().unwrap();
        let Payload::Data(g) = msg.payload else { panic!() };
        let info = parse_family(&g).unwrap();
        assert_eq!(
            info,
            FamilyInfo {
                id: 0x23,
                name: "IPVS".into(),
                version: 1,
                max_attr: 6
            }
        );
        let other = GenlMessage { family_id: 0x23, ..g };
        assert!(parse_family(&other).is_err());
    }
}
